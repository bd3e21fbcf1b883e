//! The media type of a GraphQL answer, negotiated as GraphQL over HTTP specifies.
//!
//! `application/graphql-response+json` is the specified type: with it, a request that
//! never ran — a document that does not parse or validate, or is over the limits —
//! answers 400, and everything else 200. `application/json` is for older clients: every
//! GraphQL answer is 200. Without an `Accept` header the answer is `application/json`, as
//! the specification asks for clients that predate it; a client that accepts neither
//! type gets 406.
use async_graphql::BatchResponse;
use axum::{
    body::Body,
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
};

use super::error;
use crate::graphql::gate::Answers;

/// How a GraphQL answer is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    GraphqlResponseJson,
    Json,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

impl Media {
    /// The type the `Accept` header prefers (by `q`, the specified type first on a tie).
    pub fn negotiate(headers: &HeaderMap) -> Result<Self, NotAcceptable> {
        let accept: Vec<&str> = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        if accept.is_empty() {
            return Ok(Media::Json);
        }
        let mut best: Option<(f32, Media)> = None;
        for range in accept.iter().flat_map(|value| value.split(',')) {
            let mut parts = range.split(';').map(str::trim);
            let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let media = match essence.as_str() {
                GRAPHQL_RESPONSE_JSON | "application/*" | "*/*" => Media::GraphqlResponseJson,
                JSON => Media::Json,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((q, m)) => {
                    quality > q
                        || (quality == q && media == Media::GraphqlResponseJson && m != media)
                }
            };
            if quality > 0.0 && better {
                best = Some((quality, media));
            }
        }
        best.map(|(_, media)| media).ok_or(NotAcceptable)
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Media::Json => JSON,
        })
    }

    /// A GraphQL answer (or a batch of them) in this media type: its JSON as the gate
    /// serialized it, with the cache control and headers async-graphql gives it.
    pub fn answer(self, answers: impl Into<Answers>) -> Response {
        let answers = answers.into();
        let status = match (&answers, self) {
            (Answers::Single(single), Media::GraphqlResponseJson) if single.never_ran => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::OK,
        };
        let (body, responses) = match answers {
            Answers::Single(answer) => (answer.json, BatchResponse::Single(answer.response)),
            Answers::Batch(answers) => {
                let mut body = Vec::with_capacity(answers.iter().map(|a| a.json.len() + 1).sum());
                let mut responses = Vec::with_capacity(answers.len());
                body.push(b'[');
                for (i, answer) in answers.into_iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(&answer.json);
                    responses.push(answer.response);
                }
                body.push(b']');
                (body, BatchResponse::Batch(responses))
            }
        };
        let mut answer = Response::new(Body::from(body));
        *answer.status_mut() = status;
        let headers = answer.headers_mut();
        headers.insert(CONTENT_TYPE, self.content_type());
        if responses.is_ok()
            && let Some(cache_control) = responses.cache_control().value()
            && let Ok(value) = HeaderValue::from_str(&cache_control)
        {
            headers.insert(CACHE_CONTROL, value);
        }
        headers.extend(responses.http_headers());
        answer
    }
}

/// The client accepts neither GraphQL answer type: 406.
#[derive(Debug)]
pub struct NotAcceptable;

impl IntoResponse for NotAcceptable {
    fn into_response(self) -> Response {
        error::error_response(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "GraphQL answers are application/graphql-response+json or application/json; \
             the Accept header allows neither",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(accept: Option<&str>) -> Option<Media> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        Media::negotiate(&headers).ok()
    }

    #[test]
    fn accept_picks_the_answer_type() {
        use Media::*;
        assert_eq!(negotiated(None), Some(Json), "older clients send no Accept");
        assert_eq!(negotiated(Some("application/json")), Some(Json));
        assert_eq!(
            negotiated(Some("application/graphql-response+json")),
            Some(GraphqlResponseJson)
        );
        assert_eq!(
            negotiated(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(GraphqlResponseJson),
            "what graphql-http clients send"
        );
        assert_eq!(
            negotiated(Some(
                "application/json, application/graphql-response+json;q=0.5"
            )),
            Some(Json)
        );
        assert_eq!(negotiated(Some("*/*")), Some(GraphqlResponseJson));
        assert_eq!(
            negotiated(Some("text/html,application/xml;q=0.9,*/*;q=0.8")),
            Some(GraphqlResponseJson),
            "a browser's address bar"
        );
        assert_eq!(negotiated(Some("text/plain")), None);
        assert_eq!(negotiated(Some("application/json;q=0")), None);
    }
}
