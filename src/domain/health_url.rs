//! Which health URL a branch has, and how a URL is shown on screen. Pure.

use crate::domain::hq::HqSnapshot;

/// The health URL of one branch, as the health checker resolves it (the
/// branch's own `health`, else the matching `health-check.json` endpoint).
pub fn health_url_for(hq: &HqSnapshot, branch: &str) -> Option<String> {
    let b = hq
        .registry
        .as_ref()?
        .branches
        .iter()
        .find(|b| b.id == branch)?;
    if let Some(u) = &b.health {
        return Some(u.clone());
    }
    let prefix = format!("{}.", b.id);
    hq.health_check.as_ref()?.endpoints.iter().find_map(|e| {
        let u = url::Url::parse(e).ok()?;
        let host = u.host_str()?;
        (host == b.domain || host.starts_with(&prefix)).then(|| e.clone())
    })
}

/// A health URL fit for the screen: user name, password, query and fragment removed
/// (any of them may carry a token), control characters sanitized.
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let hidden = !u.username().is_empty()
                || u.password().is_some()
                || u.query().is_some()
                || u.fragment().is_some();
            // The setters only fail for URLs that cannot carry credentials, which
            // then have none to remove.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let shown = crate::domain::sanitize::sanitize(u.as_str()).into_owned();
            if hidden {
                format!("{shown} (credentials/query hidden)")
            } else {
                shown
            }
        }
        Err(_) => "(not a valid URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_hides_secrets() {
        assert_eq!(
            display_url("https://bob:pw@koosy.example/health?token=abc#x"),
            "https://koosy.example/health (credentials/query hidden)"
        );
        assert_eq!(display_url("http://h:8080/health"), "http://h:8080/health");
        assert_eq!(display_url("not a url"), "(not a valid URL)");
    }
}
