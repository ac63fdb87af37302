//! The page's URL query as the model's filter structs: decoded by
//! [`gdl_model::query::decode`], as REST decodes its query and the CLI fills the same
//! structs, so a link, a `curl` and a command mean the same thing.

use crate::functions::Reply;
use gdl_model::error::ApiError;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use serde::de::DeserializeOwned;
use std::future::Future;

/// The query string of the page's URL decoded as `T`, or why it does not read.
pub fn query<T>() -> Memo<Result<T, ApiError>>
where
    T: DeserializeOwned + Clone + PartialEq + Send + Sync + 'static,
{
    let location = use_location();
    Memo::new(move |_| location.search.with(|s| gdl_model::query::decode::<T>(s)))
}

/// `fetch(query)`'s reply, or the query's refusal without asking the server.
pub async fn ask<Q, T, F>(query: Result<Q, ApiError>, fetch: impl FnOnce(Q) -> F) -> Reply<T>
where
    F: Future<Output = Reply<T>>,
{
    match query {
        Ok(q) => fetch(q).await,
        Err(e) => Ok(Err(e)),
    }
}
