//! The engine's [`OidcDocuments`] port over HTTP: OpenID Connect discovery documents and key
//! sets of external providers (and client ID metadata documents), fetched through the outbound SSRF guard (`tessera_outbound`)
//! with short timeouts and a size cap. Only `https://` URLs, unless private addresses are
//! allowed (`--allow-private-oidc`), which also admits `http://`.

use std::time::Duration;
use tessera_engine::federation::OidcDocuments;
use tessera_outbound::error_chain;

/// Connecting to a provider.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A whole fetch, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery documents and key sets are a few kilobytes; anything past this is refused.
const MAX_BODY: usize = 256 * 1024;

pub struct OutboundDocuments {
    client: reqwest::Client,
    allow_private: bool,
}

impl OutboundDocuments {
    /// `allow_private` lets fetches reach private and loopback addresses
    /// (`--allow-private-oidc`).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let client = tessera_outbound::client_builder(allow_private)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("OIDC client: {}", error_chain(&e)))?;
        Ok(Self {
            client,
            allow_private,
        })
    }
}

impl OutboundDocuments {
    /// The URL if it may be called: https, or http where private addresses are allowed; no
    /// internal IP literals unless allowed (names are judged by the guarded resolver).
    fn checked(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        // Keys fetched over plain HTTP could be swapped by anyone on the path: only HTTPS,
        // except where the operator allowed private addresses (a provider on the same host or
        // network, as in test setups).
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(format!("{url}: not an https URL")),
        }
        tessera_outbound::check_ip_literal(&parsed, self.allow_private)
            .map_err(|e| format!("{url}: {e}"))?;
        Ok(parsed)
    }

    /// Sends, then reads at most [`MAX_BODY`] bytes of a 2xx answer as JSON.
    async fn json_of(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, String> {
        let body = self
            .body_of(url, request.header("accept", "application/json"))
            .await?;
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
    }

    /// Sends, then reads at most [`MAX_BODY`] bytes of a 2xx answer.
    async fn body_of(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, String> {
        let response = request
            .send()
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        Self::capped(url, response).await
    }

    /// At most [`MAX_BODY`] bytes of an answer's body.
    async fn capped(url: &str, mut response: reqwest::Response) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("{url}: larger than {MAX_BODY} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[async_trait::async_trait]
impl OidcDocuments for OutboundDocuments {
    async fn get_text(&self, url: &str) -> Result<String, String> {
        let parsed = self.checked(url)?;
        let body = self.body_of(url, self.client.get(parsed)).await?;
        String::from_utf8(body).map_err(|_| format!("{url}: not UTF-8 text"))
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let parsed = self.checked(url)?;
        self.json_of(url, self.client.get(parsed)).await
    }

    async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
    ) -> Result<serde_json::Value, String> {
        let parsed = self.checked(url)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(parsed)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.json_of(url, request).await
    }

    async fn get_bearer(
        &self,
        url: &str,
        token: &str,
        post: bool,
    ) -> Result<serde_json::Value, String> {
        let parsed = self.checked(url)?;
        let request = if post {
            self.client.post(parsed)
        } else {
            self.client.get(parsed)
        };
        self.json_of(url, request.bearer_auth(token)).await
    }

    async fn get_client_metadata(
        &self,
        url: &str,
    ) -> Result<(serde_json::Value, Option<u64>), String> {
        // A client's registration: https only, whatever private addresses are allowed.
        if !url.starts_with("https://") {
            return Err(format!("{url}: not an https URL"));
        }
        let parsed = self.checked(url)?;
        let response = self
            .client
            .get(parsed)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let max_age = response
            .headers()
            .get_all("cache-control")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|d| {
                let (k, v) = d.trim().split_once('=')?;
                k.eq_ignore_ascii_case("max-age")
                    .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
                    .flatten()
            });
        let body = Self::capped(url, response).await?;
        let doc = serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))?;
        Ok((doc, max_age))
    }

    async fn get_answer(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<(u16, serde_json::Value), String> {
        let parsed = self.checked(url)?;
        let mut request = self.client.get(parsed).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        let status = response.status().as_u16();
        let body = Self::capped(url, response).await?;
        Ok((
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_http_and_internal_literals_are_refused_by_default() {
        let guarded = OutboundDocuments::new(false).unwrap_or_else(|e| panic!("{e}"));
        let err = guarded.get_json("http://login.example.com/jwks").await;
        assert!(err.is_err_and(|e| e.contains("not an https URL")));
        let err = guarded.get_json("https://127.0.0.1:9/jwks").await;
        assert!(err.is_err_and(|e| e.contains("refusing internal address")));
        let err = guarded.get_json("https://169.254.169.254/latest").await;
        assert!(err.is_err_and(|e| e.contains("refusing internal address")));
        let err = guarded.get_json("file:///etc/passwd").await;
        assert!(err.is_err_and(|e| e.contains("not an https URL")));
        // Token and userinfo calls to a provider go through the same checks.
        let err = guarded.post_form("http://127.0.0.1:9/token", &[]).await;
        assert!(err.is_err_and(|e| e.contains("not an https URL")));
        let err = guarded.post_form("https://10.0.0.8/token", &[]).await;
        assert!(err.is_err_and(|e| e.contains("refusing internal address")));
        let err = guarded.get_bearer("https://[::1]/me", "t", false).await;
        assert!(err.is_err_and(|e| e.contains("refusing internal address")));
    }

    #[tokio::test]
    async fn allowing_private_admits_loopback_over_http() {
        // Nothing listens on port 9 (discard): the fetch is attempted and fails to connect,
        // rather than being refused up front.
        let open = OutboundDocuments::new(true).unwrap_or_else(|e| panic!("{e}"));
        let err = open.get_json("http://127.0.0.1:9/jwks").await;
        assert!(err.is_err_and(|e| !e.contains("refusing") && !e.contains("not an https")));
    }
}
