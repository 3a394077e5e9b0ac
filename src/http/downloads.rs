//! Files to download: `GET /exports/enrollments` (a regency's coverage in a year, CSV or .xlsx,
//! for OPERATOR keys and above in scope, every worker in it audited as a personal-data read) and
//! `GET /templates/enrollments.xlsx` (the template to fill in, for anyone: it holds no personal
//! data). Refusals are JSON bodies with `extensions.code`, as every other error of the server.
use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::caller::{authenticate, lang_of, peer_of};
use super::responses::error_response;
use super::state::HttpState;
use crate::error::AppError;
use crate::i18n::{Lang, Msg};
use crate::services::export::{self, ExportFormat};
use crate::services::template;

/// `?regency=36.03&year=2023&format=csv|xlsx[&delimiter=;]`. A CSV asked for in Indonesian
/// (`Accept-Language: id`) is `;`-separated, Excel's list separator there.
pub(super) async fn enrollments(
    State(http): State<HttpState>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let headers = request.headers();
    let lang = lang_of(headers);
    let caller = match authenticate(&http, headers, peer_of(request.extensions())).await {
        Ok(caller) => caller,
        Err(err) => return error_response(headers, err, lang),
    };
    let asked = match export_query(&query, lang) {
        Ok(asked) => asked,
        Err(err) => return error_response(headers, err, lang),
    };
    let (regency, year, format) = asked;
    match export::download(&http.app, &caller, regency, year, format).await {
        Ok(download) => {
            let name = format!("enrollments-{regency}-{year}.{}", format.extension());
            file(download.bytes, format.media_type(), &name)
        }
        Err(err) => error_response(headers, err, lang),
    }
}

fn export_query(query: &HashMap<String, String>, lang: Lang) -> Result<(&str, i32, ExportFormat), AppError> {
    let invalid = |detail: &str| AppError::bad_input("query", Msg::QueryStringInvalid { detail: detail.to_owned() });
    let regency = query.get("regency").map(String::as_str).ok_or_else(|| invalid("regency is required"))?;
    let year = query
        .get("year")
        .ok_or_else(|| invalid("year is required"))?
        .parse::<i32>()
        .map_err(|_| invalid("year is a number such as 2023"))?;
    let delimiter = match query.get("delimiter").map(String::as_str) {
        None if lang == Lang::Id => ';',
        None | Some(",") => ',',
        Some(";") => ';',
        Some(_) => return Err(invalid("delimiter is , or ;")),
    };
    let format = match query.get("format").map(String::as_str) {
        None | Some("csv") => ExportFormat::Csv { delimiter },
        Some("xlsx") => ExportFormat::Xlsx,
        Some(_) => return Err(invalid("format is csv or xlsx")),
    };
    Ok((regency, year, format))
}

/// `?regency=36.03`: whose kecamatan the drop-down offers. No key needed (the template holds no
/// personal data), but a request counts against the caller's budget like any other.
pub(super) async fn template(
    State(http): State<HttpState>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let headers = request.headers();
    let lang = lang_of(headers);
    if let Err(err) = authenticate(&http, headers, peer_of(request.extensions())).await {
        return error_response(headers, err, lang);
    }
    let Some(regency) = query.get("regency") else {
        let err = AppError::bad_input("query", Msg::QueryStringInvalid { detail: "regency is required".into() });
        return error_response(headers, err, lang);
    };
    let today = chrono::Local::now().date_naive();
    match template::enrollments(&http.app.areas, regency, today) {
        Ok(bytes) => file(bytes, ExportFormat::Xlsx.media_type(), &format!("template-{regency}.xlsx")),
        Err(err) => error_response(headers, err, lang),
    }
}

fn file(bytes: Vec<u8>, media_type: &'static str, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    let disposition = format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], ""));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
