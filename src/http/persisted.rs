//! Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of its
//! document instead of the document, and the document itself only once, when the server
//! answers `PersistedQueryNotFound`.
//!
//! Resolved here, before GraphQL sees the request, into the document's text: the text
//! then goes through the same document limits as any other (async-graphql's own extension
//! would hand over a document it parsed itself, past those limits).
use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{Request, ServerError};
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::graphql::guard::with_code;

/// Documents remembered, least recently used forgotten first.
const REMEMBERED: usize = 256;

/// The documents clients have sent, by the hex SHA-256 of their text: at most
/// [`REMEMBERED`] of them, none longer than the document size limit.
pub struct PersistedQueries {
    remembered: Mutex<LruCache<String, Arc<str>>>,
    max_document_bytes: usize,
}

/// The `persistedQuery` extension of a request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i64,
    sha256_hash: String,
}

impl PersistedQueries {
    pub fn new(max_document_bytes: usize) -> Self {
        Self {
            remembered: Mutex::new(LruCache::new(
                NonZeroUsize::new(REMEMBERED).expect("not zero"),
            )),
            max_document_bytes,
        }
    }

    /// Gives a request that names its document by hash the document's text, and
    /// remembers a document sent with its hash. `PERSISTED_QUERY_NOT_FOUND` when the hash
    /// is unknown (the client then sends the document), `BAD_USER_INPUT` for a hash that
    /// is not the document's or an extension that is not version 1.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let persisted: PersistedQuery = extension
            .into_json()
            .ok()
            .and_then(|json| serde_json::from_value(json).ok())
            .ok_or_else(|| {
                coded(
                    "the persistedQuery extension is {\"version\": 1, \"sha256Hash\": …}",
                    "BAD_USER_INPUT",
                )
            })?;
        if persisted.version != 1 {
            return Err(coded(
                "only version 1 of persisted queries is supported",
                "BAD_USER_INPUT",
            ));
        }
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        if request.query.is_empty() {
            let text = remembered.get(&hash).ok_or_else(|| {
                // The message is what Apollo's clients look for.
                coded("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            })?;
            request.query = text.to_string();
        } else {
            if format!("{:x}", Sha256::digest(request.query.as_bytes())) != hash {
                return Err(coded("provided sha does not match query", "BAD_USER_INPUT"));
            }
            // A document over the limit is refused by the guard; it is not kept either,
            // or 256 of them (each up to the body limit) would sit in memory.
            if request.query.len() <= self.max_document_bytes {
                remembered.put(hash, request.query.as_str().into());
            }
        }
        Ok(())
    }
}

fn coded(message: &str, code: &str) -> ServerError {
    with_code(ServerError::new(message, None), code)
}
