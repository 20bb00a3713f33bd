//! What a handler takes from a request, with errors that are problems as every
//! other error of the service: axum's own `Json` and `Path` answer theirs in
//! plain text. [`Body`], a JSON body; [`Path`], the parameters of the path;
//! [`Query`], the query string.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// A request body of JSON, read as `T`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => {
                let status = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => rejection.status(),
                };
                let detail = format!("the request's body: {}; /openapi.json describes it", rejection.body_text());
                Err(Problem::new(status, detail, &headers).into_response())
            }
        }
    }
}

/// The path's parameters, read as `T` (an id too large for 64 bits, a word
/// for a number: 400, saying which).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                let detail = format!("the path: {}; /openapi.json describes it", rejection.body_text());
                Err(Problem::new(StatusCode::BAD_REQUEST, detail, &parts.headers).into_response())
            }
        }
    }
}

/// A query string, read as `T`, whose errors say what `T` expects.
pub struct Query<T>(pub T);

/// What a query string should look like, said when it cannot be read.
pub trait Expected {
    /// E.g. `?after=ID, a run's id`.
    const EXPECTED: &'static str;
}

impl<T: DeserializeOwned + Expected + Send, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => {
                let detail = format!("the query: {}; expected {}", rejection.body_text(), T::EXPECTED);
                Err(Problem::new(StatusCode::BAD_REQUEST, detail, &parts.headers).into_response())
            }
        }
    }
}

/// A `multipart/form-data` body (a form with files), read a part at a time:
/// never whole in memory before the handler has seen what each part is.
pub struct Form(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        match axum::extract::Multipart::from_request(request, state).await {
            Ok(multipart) => Ok(Form(multipart)),
            Err(rejection) => {
                let detail = format!(
                    "the request's body: {}; send multipart/form-data, as /openapi.json describes",
                    rejection.body_text()
                );
                Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail, &headers).into_response())
            }
        }
    }
}

/// What is received as a file: a request's body, or a file field of a form.
pub trait Upload {
    fn chunks(self) -> impl futures_util::Stream<Item = anyhow::Result<axum::body::Bytes>> + Send;
}

impl Upload for axum::body::Body {
    fn chunks(self) -> impl futures_util::Stream<Item = anyhow::Result<axum::body::Bytes>> + Send {
        futures_util::StreamExt::map(self.into_data_stream(), |chunk| chunk.map_err(anyhow::Error::new))
    }
}

impl Upload for axum::extract::multipart::Field<'_> {
    fn chunks(self) -> impl futures_util::Stream<Item = anyhow::Result<axum::body::Bytes>> + Send {
        futures_util::StreamExt::map(self, |chunk| chunk.map_err(anyhow::Error::new))
    }
}

/// A file sent (a request's body, or a form's file: a bank's report, a CSV),
/// written to a temporary file named `…suffix` as it arrives: never whole in
/// memory. The file goes when the handle is dropped.
pub async fn receive(upload: impl Upload, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let file = tempfile::Builder::new().prefix("ansinh-upload-").suffix(suffix).tempfile()?;
    let mut writing = tokio::fs::File::from_std(file.reopen()?);
    let mut stream = std::pin::pin!(upload.chunks());
    while let Some(chunk) = stream.next().await {
        writing.write_all(&chunk?).await?;
    }
    writing.flush().await?;
    Ok(file)
}
