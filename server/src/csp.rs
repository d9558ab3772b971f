//! The Content-Security-Policy: only what the two client bundles need. Trunk's loader is an inline module
//! script in each bundle's `index.html`; its hash, read from the built files when the server starts, is
//! the only inline script allowed. WebAssembly needs `'wasm-unsafe-eval'`, and nothing else is evaluated.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The policy as a header value. (Hashes and fixed words are always a valid value; were it not, no inline
/// script would be allowed at all.)
pub fn header(static_dir: &Path) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&policy(static_dir)).unwrap_or_else(|_| {
        axum::http::HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'",
        )
    })
}

/// The policy for the client built into `static_dir` (its `index.html` and `admin/index.html`).
pub fn policy(static_dir: &Path) -> String {
    let mut hashes: Vec<String> = [
        static_dir.join("index.html"),
        static_dir.join("admin").join("index.html"),
    ]
    .iter()
    .filter_map(|page| std::fs::read_to_string(page).ok())
    .flat_map(|html| {
        inline_scripts(&html)
            .into_iter()
            .map(hash)
            .collect::<Vec<_>>()
    })
    .collect();
    hashes.sort();
    hashes.dedup();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{}{}; style-src 'self'; img-src 'self'; \
         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        if hashes.is_empty() { "" } else { " " },
        hashes.join(" ")
    )
}

/// How a policy names an inline script: the SHA-256 of its text.
fn hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

/// The text of every `<script>` without a `src` in a page, exactly as written (what a browser hashes).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            scripts.push(&body[..close]);
        }
        rest = &body[close..];
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed_exactly_as_written() {
        let html = "<head><script src=\"/a.js\"></script>\n<script type=\"module\">\nimport x;\n</script></head>";
        assert_eq!(inline_scripts(html), ["\nimport x;\n"]);
        let dir = std::env::temp_dir().join(format!("tc-csp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("admin")).expect("dir");
        std::fs::write(dir.join("index.html"), html).expect("page");
        std::fs::write(dir.join("admin").join("index.html"), "<script>b()</script>").expect("page");
        let policy = policy(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(policy.contains(&hash("\nimport x;\n")), "{policy}");
        assert!(policy.contains(&hash("b()")), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("'wasm-unsafe-eval'"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn without_a_built_client_no_inline_script_is_allowed() {
        let policy = policy(Path::new("/nonexistent-static-dir"));
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{policy}"
        );
    }
}
