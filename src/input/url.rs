//! The base URL of a server headroom talks to: a target, Prometheus.

/// `http://host:port[/base]` — the scheme, authority and path prefix.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for the root).
    pub base_path: String,
}

impl BaseUrl {
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        if !text.contains("://") && !text.is_empty() {
            return Err(format!(
                "{text:?} has no scheme: did you mean \"http://{text}\" (or https://)?"
            ));
        }
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("expected a URL like \"http://127.0.0.1:8080\": {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| format!("URL {text:?} needs a scheme (http://)"))?;
        let https = scheme == http::uri::Scheme::HTTPS;
        if scheme != http::uri::Scheme::HTTP && !https {
            return Err(format!(
                "expected an http:// or https:// URL, found {scheme}://"
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("URL {text:?} needs a host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let base_path = uri.path().trim_end_matches('/').to_string();
        Ok(BaseUrl {
            scheme,
            authority,
            host,
            port,
            base_path,
        })
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

impl BaseUrl {
    pub fn is_https(&self) -> bool {
        self.scheme == http::uri::Scheme::HTTPS
    }
}
