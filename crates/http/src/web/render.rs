//! Rendering the hosted pages: templates embedded in the binary (minijinja, auto-escaped), the
//! message catalogue (`messages.json`: adding a language is adding an object there), cookies,
//! CSRF tokens, and the security headers every page carries.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("challenge.html", include_str!("templates/challenge.html")),
    ("signup.html", include_str!("templates/signup.html")),
    ("code.html", include_str!("templates/code.html")),
    ("forgot.html", include_str!("templates/forgot.html")),
    ("message.html", include_str!("templates/message.html")),
    ("continue.html", include_str!("templates/continue.html")),
    (
        "passkey_add.html",
        include_str!("templates/passkey_add.html"),
    ),
];

/// The passkey ceremonies' script, inlined (with the page's nonce) into the pages that need it.
pub(crate) const PASSKEY_JS: &str = include_str!("passkey.js");

const BASE_CSS: &str = include_str!("style.css");
const CATALOGUE: &str = include_str!("messages.json");

pub(crate) const CSRF_COOKIE: &str = "tessera-csrf";
pub(crate) const SESSION_COOKIE: &str = "tessera-session";
pub(crate) const CSRF_FIELD: &str = "_csrf";

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| environment_of(TEMPLATES))
}

/// An environment of templates embedded in the binary. Names ending in `.html` are
/// auto-escaped (minijinja's default), so a value can't become markup.
pub(crate) fn environment_of(templates: &[(&'static str, &'static str)]) -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in templates {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "a built-in template does not parse");
        }
    }
    env
}

/// Renders `template` of `env` with `ctx` as an HTML response without headers of its own; a
/// failure is logged and answered with a bare 500.
pub(crate) fn html(
    env: &Environment<'_>,
    status: StatusCode,
    template: &str,
    ctx: &Value,
) -> Response {
    let html = env
        .get_template(template)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)));
    match html {
        Ok(h) => {
            let mut response = (status, h).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(e) => {
            tracing::error!(template, error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

fn catalogue() -> &'static Map<String, Value> {
    static CAT: OnceLock<Map<String, Value>> = OnceLock::new();
    CAT.get_or_init(|| match serde_json::from_str(CATALOGUE) {
        Ok(Value::Object(m)) => m,
        _ => {
            tracing::error!("the built-in message catalogue does not parse");
            Map::new()
        }
    })
}

/// The languages the catalogue has.
#[cfg(test)]
pub(crate) fn languages() -> Vec<&'static str> {
    catalogue().keys().map(String::as_str).collect()
}

/// The page language: `lang` if the catalogue has it (or its primary subtag), else the first
/// Accept-Language the catalogue has, else English.
pub(crate) fn pick_language(lang: Option<&str>, headers: &HeaderMap) -> String {
    let known = |tag: &str| -> Option<String> {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_string();
        [tag, primary]
            .into_iter()
            .find(|t| catalogue().contains_key(t))
    };
    if let Some(l) = lang.and_then(known) {
        return l;
    }
    let accept = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept
        .split(',')
        .filter_map(|part| known(part.split(';').next().unwrap_or_default()))
        .next()
        .unwrap_or_else(|| "en".to_string())
}

/// The catalogue for `lang`, with English behind every missing entry.
pub(crate) fn messages(lang: &str) -> Map<String, Value> {
    let cat = catalogue();
    let mut out = cat
        .get("en")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Object(own)) = cat.get(lang) {
        for (k, v) in own {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// One message, with `{name}` placeholders filled.
pub(crate) fn message(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = messages(lang)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_string();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Where and how the pages' cookies are set.
#[derive(Clone, Debug)]
pub(crate) struct CookieScope {
    pub path: String,
    pub secure: bool,
}

impl CookieScope {
    pub(crate) fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        self.set_with(name, value, max_age, "Lax")
    }

    /// A cookie with its own `SameSite` (the console's are `Strict`: nothing links into it
    /// from elsewhere that needs the session).
    pub(crate) fn set_with(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        same_site: &str,
    ) -> HeaderValue {
        let mut c = format!(
            "{name}={value}; Path={}; HttpOnly; SameSite={same_site}",
            self.path
        );
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub(crate) fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", Some(0))
    }
}

/// Everything a page shares: language, CSRF token, branding, and the authorize request's
/// query string the links and forms carry on.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub lang: String,
    pub csrf: String,
    /// The CSRF cookie is new and must be set with this response.
    pub new_csrf: bool,
    pub cookies: CookieScope,
    pub query: String,
    pub pool_name: String,
    pub logo_url: Option<String>,
    /// Extra CSS: the client's (or ALL's) sanitised classic customisation and managed-login
    /// colours.
    pub custom_css: Option<String>,
}

impl Frame {
    /// Whether a form post carries the token the browser's cookie holds.
    pub(crate) fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        !self.new_csrf
            && submitted.is_some_and(|s| {
                tessera_crypto::constant_time_eq(s.as_bytes(), self.csrf.as_bytes())
            })
    }

    pub(crate) fn text(&self, key: &str) -> String {
        message(&self.lang, key, &[])
    }

    /// Renders `template` with the frame's values and `ctx`.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        title_key: &str,
        ctx: Value,
    ) -> Response {
        let nonce = tessera_crypto::random::token(16);
        let mut base = json!({
            "lang": self.lang,
            "t": messages(&self.lang),
            "title": self.text(title_key),
            "nonce": nonce,
            "base_css": BASE_CSS,
            "custom_css": self.custom_css,
            "csrf": self.csrf,
            "query": self.query,
            "pool_name": self.pool_name,
            "logo_url": self.logo_url,
        });
        if let (Value::Object(b), Value::Object(extra)) = (&mut base, ctx) {
            b.extend(extra);
        }
        let mut response = html(environment(), status, template, &base);
        if response.status() != status {
            return response;
        }
        let h = response.headers_mut();
        // Only the passkey pages run a script; every other page's CSP allows none.
        if base.get("passkey_js").is_some_and(|v| !v.is_null()) {
            secure_headers_with_csp(h, &csp(&nonce, true));
        } else {
            secure_headers(h, &nonce);
        }
        if self.new_csrf {
            h.append(SET_COOKIE, self.cookies.set(CSRF_COOKIE, &self.csrf, None));
        }
        response
    }
}

/// The headers every page and redirect of the hosted UI sends: no framing, no caching, a CSP
/// that allows only our own resources and the page's one style element.
pub(crate) fn secure_headers(h: &mut HeaderMap, nonce: &str) {
    secure_headers_with_csp(h, &csp(nonce, false));
}

/// The pages' policy: our own images, the page's one style element, and — on the passkey
/// pages — its one script element.
fn csp(nonce: &str, script: bool) -> String {
    let script = if script {
        format!(" script-src 'nonce-{nonce}';")
    } else {
        String::new()
    };
    format!(
        "default-src 'none'; style-src 'nonce-{nonce}';{script} img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The same headers with another page family's content security policy.
pub(crate) fn secure_headers_with_csp(h: &mut HeaderMap, csp: &str) {
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert("content-security-policy", v);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_every_language_names_what_english_does() {
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        let english = messages("en");
        for lang in languages() {
            assert!(catalogue()[lang].is_object(), "{lang}");
            let own = messages(lang);
            assert_eq!(own.len(), english.len(), "{lang} falls back to English");
        }
        assert!(languages().contains(&"de") && languages().contains(&"fr"));
    }

    #[test]
    fn language_comes_from_lang_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(pick_language(None, &h), "en");
        h.insert(
            "accept-language",
            HeaderValue::from_static("fr-CA,fr;q=0.9"),
        );
        assert_eq!(pick_language(None, &h), "fr");
        assert_eq!(pick_language(Some("de"), &h), "de");
        assert_eq!(pick_language(Some("xx"), &h), "fr");
        assert_eq!(message("de", "sign_in", &[]), "Anmelden");
        assert_eq!(
            message("en", "mfa_prompt_sent", &[("destination", "a***@e***")]),
            "We sent a code to a***@e***. Enter it below."
        );
    }

    #[test]
    fn cookies_are_read_and_scoped() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("a=1; tessera-csrf=xyz; b=2"),
        );
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "missing"), None);
        let scope = CookieScope {
            path: "/domain/app".into(),
            secure: true,
        };
        let set = scope.set(SESSION_COOKIE, "v", Some(3600));
        assert_eq!(
            set.to_str().unwrap(),
            "tessera-session=v; Path=/domain/app; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"
        );
    }
}
