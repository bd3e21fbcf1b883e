//! GraphiQL from the binary: our page (`graphiql.html`, with its sign-in form) and the
//! release files it loads, vendored under `vendor/graphiql/` and embedded at build time,
//! so that it works on an intranet with no way to a CDN.
use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{
            CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
            REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
        },
    },
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

const PAGE: &str = include_str!("graphiql.html");

/// The vendored files the page loads: (name, content type, bytes). Versions are pinned in
/// `vendor/graphiql/fetch.sh`, which checks these files against `SHA256SUMS`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        JAVASCRIPT,
        include_bytes!("../../vendor/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../vendor/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        JAVASCRIPT,
        include_bytes!("../../vendor/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JAVASCRIPT,
        include_bytes!("../../vendor/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphql-ws.min.js",
        JAVASCRIPT,
        include_bytes!("../../vendor/graphiql/graphql-ws.min.js"),
    ),
    (
        "LICENSE.graphiql",
        TEXT,
        include_bytes!("../../vendor/graphiql/LICENSE.graphiql"),
    ),
    (
        "LICENSE.react",
        TEXT,
        include_bytes!("../../vendor/graphiql/LICENSE.react"),
    ),
    (
        "LICENSE.react-dom",
        TEXT,
        include_bytes!("../../vendor/graphiql/LICENSE.react-dom"),
    ),
    (
        "LICENSE.graphql-ws",
        TEXT,
        include_bytes!("../../vendor/graphiql/LICENSE.graphql-ws"),
    ),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The page may run only its own inline script (by hash) and files of this server, and
/// talk only to this server: injected markup in a query result cannot load or send
/// anything. GraphiQL sets styles at run time, hence `'unsafe-inline'` for styles.
static PAGE_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let script = PAGE
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("graphiql.html has one inline script");
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    let policy = format!(
        "default-src 'none'; script-src 'self' 'sha256-{hash}'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("a valid header")
});

/// The page, for a browser that asks `GET /graphql` for HTML.
pub(super) fn page() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (CONTENT_SECURITY_POLICY, PAGE_POLICY.clone()),
        ],
        PAGE,
    )
        .into_response()
}

/// Each file's entity tag: its content's digest, so that an upgrade is seen at once
/// (`no-cache` makes the browser ask, and a match answers 304 without the body).
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(_, _, bytes)| {
            let digest = Sha256::digest(bytes);
            let tag = format!("\"{}\"", STANDARD.encode(&digest[..16]));
            HeaderValue::from_str(&tag).expect("a valid header")
        })
        .collect()
});

/// `GET /graphiql/{file}`: one of the vendored files, by its plain name.
pub(super) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, content_type, bytes) = ASSETS[index];
    let etag = ETAGS[index].clone();
    let common = [
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (ETAG, etag.clone()),
    ];
    let known = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag.to_str().unwrap_or_default());
    if known {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response()
}
