//! The client's addresses, and where a sign-in may send the user back to.

/// Where a signed-in user lands.
pub const HOME: &str = "/account/traceability-credentials";
pub const SIGN_IN: &str = "/sign-in";

/// The page to return to after signing in. Only a path on this site is accepted (it starts with one
/// `/`, not `//` or `/\`, which browsers read as another host), so a crafted sign-in link cannot send
/// the user elsewhere. Anything else, and the sign-in page itself, lands on [`HOME`].
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control)
                && !path.starts_with(SIGN_IN) =>
        {
            path
        }
        _ => HOME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_on_this_site_is_kept() {
        assert_eq!(
            safe_next(Some("/account/traceability-credentials?x=1")),
            "/account/traceability-credentials?x=1"
        );
    }

    #[test]
    fn other_hosts_and_odd_values_land_home() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/sign-in?next=/x",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), HOME, "{bad:?}");
        }
        assert_eq!(safe_next(None), HOME);
    }
}
