//! The client's addresses, and where a sign-in may send the user back to.

/// Where a signed-in user lands.
pub const HOME: &str = "/account/traceability-credentials";
pub const SIGN_IN: &str = "/sign-in";
/// Where a new user chooses their password (the one-time token follows in the fragment).
pub const SET_PASSWORD: &str = "/set-password";
/// Admins: Organization Management's licenses, and Config Page > Integration.
pub const ORGANIZATION: &str = "/admin/organization/licenses";
pub const ORGANIZATION_USERS: &str = "/admin/organization/users";
pub const ORGANIZATION_COVERAGE: &str = "/admin/organization/coverage";
pub const ORGANIZATION_AUDIT: &str = "/admin/organization/audit";
pub const COMPLIANCE: &str = "/admin/compliance";
/// Record sales and adjustments by hand (any signed-in user; in the second bundle, so the credentials
/// page's download stays small).
pub const REGISTER: &str = "/register";
pub const CONFIG: &str = "/admin/config/integration";
/// Manage account > Password & sessions (any signed-in user; in the second bundle).
pub const ACCOUNT_SECURITY: &str = "/account/security";

/// The pages of the admin bundle (`admin.html`): the admin pages, Register, Password & sessions and the
/// set-password page.
pub fn is_admin_path(path: &str) -> bool {
    path.starts_with("/admin/") || [SET_PASSWORD, REGISTER, ACCOUNT_SECURITY].contains(&path)
}

/// The page an address without one of its own stands for: `/` and `/account` open the credentials.
pub fn page_for_alias(path: &str) -> Option<&'static str> {
    matches!(path, "/" | "/account" | "/account/").then_some(HOME)
}

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

/// The sign-in address that returns to `here` afterwards.
pub fn sign_in_returning_to(here: &str) -> String {
    format!("{SIGN_IN}?next={}", encode_component(here))
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as `encodeURIComponent` does.
pub fn encode_component(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
    out
}

/// The decoded value of one parameter of a query string (`?a=1&next=%2Fx`); `+` is a space.
/// A malformed escape is kept as written; bytes that do not decode to UTF-8 are replaced.
pub fn query_param(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| decode_component(key) == name)
        .map(|(_, value)| decode_component(value))
}

fn decode_component(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_address_survives_the_round_trip() {
        let here = "/account/traceability-credentials?tab=a b&x=ü";
        let url = sign_in_returning_to(here);
        assert_eq!(
            url,
            "/sign-in?next=%2Faccount%2Ftraceability-credentials%3Ftab%3Da%20b%26x%3D%C3%BC"
        );
        let search = url.trim_start_matches(SIGN_IN);
        assert_eq!(query_param(search, "next").as_deref(), Some(here));
    }

    #[test]
    fn query_parameters_are_found_and_decoded() {
        assert_eq!(
            query_param("?a=1&next=%2Fx+y", "next").as_deref(),
            Some("/x y")
        );
        assert_eq!(query_param("?flag&a=1", "flag").as_deref(), Some(""));
        assert_eq!(query_param("", "next"), None);
        assert_eq!(query_param("?next=%zz%2", "next").as_deref(), Some("%zz%2"));
        assert_eq!(
            query_param("?next=%FF", "next").as_deref(),
            Some("\u{FFFD}")
        );
    }

    #[test]
    fn the_root_and_the_account_address_open_the_credentials() {
        assert_eq!(page_for_alias("/"), Some(HOME));
        assert_eq!(page_for_alias("/account"), Some(HOME));
        assert_eq!(page_for_alias("/account/"), Some(HOME));
        assert_eq!(page_for_alias(HOME), None);
        assert_eq!(page_for_alias("/accounts"), None);
    }

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
