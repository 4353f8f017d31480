//! User import jobs (CreateUserImportJob …): the job and its CSV rules, as Cognito documents them
//! ("Importing users into a user pool from a CSV file"), plus imported password hashes.
//!
//! The CSV's first line names its columns, in any order: every column GetCSVHeader lists must be
//! there (values may be empty), `cognito:username` and `cognito:mfa_enabled` on every row. A
//! row becomes a user in RESET_REQUIRED (they set a password through ForgotPassword, which needs
//! a verified email or phone number: `email_verified` or `phone_number_verified` true), or, with
//! a `cognito:password_hash` (Tessera's column, see [`PASSWORD_HASH_COLUMN`]), a CONFIRMED user
//! who signs in with their old password, which is then rehashed with argon2id.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Tessera's column for an imported password hash (bcrypt, argon2, scrypt, PBKDF2 or Firebase
/// scrypt; see `tessera_crypto::imported`).
pub const PASSWORD_HASH_COLUMN: &str = "cognito:password_hash";
pub const USERNAME_COLUMN: &str = "cognito:username";
pub const MFA_COLUMN: &str = "cognito:mfa_enabled";
/// Largest CSV accepted (Cognito's limit).
pub const MAX_CSV_BYTES: usize = 100 * 1024 * 1024;
/// Rows per committed batch.
pub const BATCH_ROWS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportJobStatus {
    Created,
    Pending,
    InProgress,
    Stopping,
    Expired,
    Stopped,
    Failed,
    Succeeded,
}

impl ImportJobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Stopping => "Stopping",
            Self::Expired => "Expired",
            Self::Stopped => "Stopped",
            Self::Failed => "Failed",
            Self::Succeeded => "Succeeded",
        }
    }

    /// A job that will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Expired | Self::Stopped | Self::Failed | Self::Succeeded
        )
    }
}

/// A user import job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserImportJob {
    pub pool_id: crate::UserPoolId,
    pub job_id: String,
    pub job_name: String,
    pub cloud_watch_logs_role_arn: String,
    /// `BCRYPT`, `SCRYPT`, `ARGON2ID`, `PBKDF2_SHA256` (the model's) or `FIREBASE_SCRYPT`.
    pub password_hashing_algorithm: Option<String>,
    pub status: ImportJobStatus,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub imported_users: u64,
    pub skipped_users: u64,
    pub failed_users: u64,
    pub completion_message: Option<String>,
    /// The upload token of the pre-signed URL, sealed with the master key (Describe shows the URL again).
    pub sealed_upload_token: Vec<u8>,
    pub upload_expires_at: Timestamp,
    /// Whether a CSV has been uploaded.
    pub uploaded: bool,
    /// Data rows (after the header) already processed: where a resumed job goes on.
    pub next_row: u64,
    /// Data rows in the uploaded CSV.
    pub total_rows: u64,
}

/// One refused row, for the job's error log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    /// 1-based data row number (the header is row 0).
    pub row: u64,
    pub username: Option<String>,
    pub message: String,
}

/// An uploaded CSV: its header, and its text with where each (non-blank) row lies in it.
///
/// Rows are split into values when read ([`ImportCsv::row`]), not all at once: a job's file may
/// hold a million rows, and as owned strings they took ~15 times the file's size in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportCsv {
    pub header: Vec<String>,
    text: String,
    rows: Vec<std::ops::Range<usize>>,
}

impl ImportCsv {
    /// Data rows (blank lines aren't rows).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Data row `i` (0-based), its values in header order.
    pub fn row(&self, i: usize) -> Option<Vec<String>> {
        let text = self.text.get(self.rows.get(i)?.clone())?;
        // After a blank line, as in the file: read alone, a row that starts with a byte-order
        // mark would lose it (the reader strips one at the start of its input), and a row of
        // just that mark would read as nothing.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::Read::chain(&b"\n"[..], text.as_bytes()));
        let record = reader.records().next()?.ok()?;
        Some(record.iter().map(str::to_string).collect())
    }
}

/// A CSV row read against the header: column → value, empty values left out.
pub fn row_values<'a>(header: &'a [String], row: &'a [String]) -> Vec<(&'a str, &'a str)> {
    header
        .iter()
        .zip(row.iter())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The row's `cognito:username`, if it has one (for the error log).
pub fn row_username(header: &[String], row: &[String]) -> Option<String> {
    header
        .iter()
        .position(|h| h == USERNAME_COLUMN)
        .and_then(|i| row.get(i))
        .filter(|v| !v.is_empty())
        .cloned()
}

/// Parses the uploaded bytes: UTF-8, RFC 4180 quoting, a header line. `expected` is what
/// GetCSVHeader lists; every one of its columns must be present except the password-hash
/// column (so a file made for Cognito imports as it is), and no column may be unknown or
/// repeated. The message is the job's
/// CompletionMessage-worthy reason.
pub fn parse_csv(bytes: Vec<u8>, expected: &[String]) -> Result<ImportCsv, String> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err("The CSV file is larger than 100 MB.".into());
    }
    let text = String::from_utf8(bytes).map_err(|_| "The CSV file is not UTF-8.".to_string())?;
    let start = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let body = text.get(start..).unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut record = csv::StringRecord::new();
    let header: Vec<String> = match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|h| h.trim().to_string()).collect(),
        Ok(false) => return Err("The CSV file is empty.".into()),
        Err(e) => return Err(format!("The CSV header can't be read: {e}")),
    };
    let mut seen = std::collections::BTreeSet::new();
    for h in &header {
        if !seen.insert(h.as_str()) {
            return Err(format!("The CSV header repeats the column {h}."));
        }
        if h != PASSWORD_HASH_COLUMN && !expected.contains(h) {
            return Err(format!(
                "The CSV header has a column the user pool doesn't have: {h}."
            ));
        }
    }
    if let Some(missing) = expected
        .iter()
        .find(|e| *e != PASSWORD_HASH_COLUMN && !seen.contains(e.as_str()))
    {
        return Err(format!(
            "The CSV header lacks the column {missing} (see GetCSVHeader)."
        ));
    }
    // Every row is read once here, so a malformed one fails the file before anything is
    // imported; only where it lies is kept.
    let mut rows = Vec::new();
    let mut at = reader.position().byte() as usize;
    let mut i = 0usize;
    loop {
        i += 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("Row {} can't be read: {e}", i)),
        }
        let end = reader.position().byte() as usize;
        if !record.iter().all(str::is_empty) {
            rows.push(start + at..start + end);
        }
        at = end;
    }
    Ok(ImportCsv { header, text, rows })
}

/// What a row asks for, before the pool's attribute rules are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub username: String,
    pub mfa_enabled: bool,
    pub password_hash: Option<String>,
    pub attributes: Vec<(String, String)>,
}

/// Reads one row: the username and MFA columns are required; with MFA on, a phone number; a
/// user without a password hash needs a verified email or phone number to reset their
/// password. The message is the row's error-log line.
pub fn read_row(header: &[String], row: &[String]) -> Result<ImportRow, String> {
    if row.len() != header.len() {
        return Err(format!(
            "The row has {} values; the header has {} columns.",
            row.len(),
            header.len()
        ));
    }
    let values = row_values(header, row);
    let get = |name: &str| values.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let username = get(USERNAME_COLUMN)
        .ok_or("cognito:username is required.")?
        .to_string();
    let mfa_enabled = match get(MFA_COLUMN).map(str::to_ascii_lowercase).as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err("cognito:mfa_enabled must be true or false.".into()),
    };
    let password_hash = get(PASSWORD_HASH_COLUMN).map(str::to_string);
    let attributes: Vec<(String, String)> = values
        .iter()
        .filter(|(k, _)| !k.starts_with("cognito:"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let attr = |name: &str| attributes.iter().any(|(k, v)| k == name && !v.is_empty());
    let is_true = |name: &str| {
        attributes
            .iter()
            .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
    };
    if mfa_enabled && !attr("phone_number") {
        return Err("A user with cognito:mfa_enabled true needs a phone_number.".into());
    }
    if password_hash.is_none()
        && !(is_true("email_verified") && attr("email"))
        && !(is_true("phone_number_verified") && attr("phone_number"))
    {
        return Err(
            "A user without a password hash needs email_verified or phone_number_verified true, with the email or phone_number, to reset their password."
                .into(),
        );
    }
    Ok(ImportRow {
        username,
        mfa_enabled,
        password_hash,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    /// Found by the `user_import_csv` fuzz target: a row holding a byte-order mark (BOM) mid-file
    /// was a row to `parse_csv` but nothing to `ImportCsv::row`, which read it alone.
    #[test]
    fn rows_read_back_as_the_file_had_them_even_with_a_byte_order_mark() {
        let header = "name,cognito:username";
        let file = format!("{header}\nann,ann\n\u{feff}\n\u{feff}x,bob\n");
        let expected = vec!["name".to_string(), "cognito:username".to_string()];
        let csv = super::parse_csv(file.into_bytes(), &expected).unwrap();
        let rows: Vec<_> = (0..csv.len()).map(|i| csv.row(i)).collect();
        assert_eq!(
            rows,
            vec![
                Some(vec!["ann".to_string(), "ann".to_string()]),
                Some(vec!["\u{feff}".to_string()]),
                Some(vec!["\u{feff}x".to_string(), "bob".to_string()]),
            ]
        );
    }

    use super::*;

    fn expected() -> Vec<String> {
        [
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
            "name",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([MFA_COLUMN.to_string(), USERNAME_COLUMN.to_string()])
        .collect()
    }

    #[test]
    fn rows_read_on_demand_are_the_rows_of_the_file() {
        let header = "cognito:username,name,email,email_verified,phone_number,phone_number_verified,cognito:mfa_enabled";
        let body = "ann,\"Ann, A.\",ann@example.com,true,,,false\r\n\
                    \r\n\
                    bob,\"two\nlines \"\"quoted\"\"\",bob@example.com,true,,,false\n\
                    ,,,,,,\n\
                    carol,Carol,carol@example.com,true,,,false";
        let file = format!("\u{feff}{header}\n{body}");
        let parsed = parse_csv(file.into_bytes(), &expected()).unwrap_or_else(|e| panic!("{e}"));
        // The same body read whole, as the rows were before they were read on demand.
        let reference: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes())
            .records()
            .map(|r| {
                r.unwrap_or_else(|e| panic!("{e}"))
                    .iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|r| !r.iter().all(String::is_empty))
            .collect();
        assert_eq!(parsed.len(), 3);
        let rows: Vec<Vec<String>> = (0..parsed.len()).filter_map(|i| parsed.row(i)).collect();
        assert_eq!(rows, reference);
        assert_eq!(rows[0][1], "Ann, A.");
        assert_eq!(rows[1][1], "two\nlines \"quoted\"");
        assert_eq!(rows[2][0], "carol");
        assert_eq!(parsed.row(3), None);
    }

    #[test]
    fn csv_headers_must_cover_get_csv_header_in_any_order() {
        let csv = "cognito:username,name,email,email_verified,phone_number,phone_number_verified,cognito:mfa_enabled,cognito:password_hash\n\
                   ann,\"Ann, A.\",ann@example.com,true,,,false,\n\n";
        let parsed = parse_csv(csv.into(), &expected()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.len(), 1);
        let row = parsed.row(0).unwrap_or_else(|| panic!("row 0"));
        let row = read_row(&parsed.header, &row).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(row.username, "ann");
        assert!(!row.mfa_enabled);
        assert_eq!(row.password_hash, None);
        assert!(row.attributes.contains(&("name".into(), "Ann, A.".into())));

        let missing = "cognito:username,email\nann,a@b\n";
        assert!(parse_csv(missing.as_bytes().to_vec(), &expected()).is_err());
        let unknown = format!("{},nickname\n", expected().join(","));
        assert!(
            parse_csv(unknown.as_bytes().to_vec(), &expected())
                .is_err_and(|e| e.contains("nickname"))
        );
    }

    #[test]
    fn rows_follow_cognitos_rules() {
        let header: Vec<String> = expected()
            .into_iter()
            .chain([PASSWORD_HASH_COLUMN.to_string()])
            .collect();
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // email, email_verified, phone, phone_verified, name, mfa, username, hash
        assert!(
            read_row(
                &header,
                &row(&["a@b.c", "true", "", "", "", "false", "a", ""])
            )
            .is_ok()
        );
        let unverified = read_row(
            &header,
            &row(&["a@b.c", "false", "", "", "", "false", "a", ""]),
        );
        assert!(unverified.is_err_and(|e| e.contains("email_verified")));
        let hashed = read_row(
            &header,
            &row(&["", "", "", "", "", "false", "a", "$2b$04$x"]),
        );
        assert!(hashed.is_ok_and(|r| r.password_hash.as_deref() == Some("$2b$04$x")));
        assert!(
            read_row(
                &header,
                &row(&["a@b.c", "true", "", "", "", "true", "a", ""])
            )
            .is_err()
        );
        assert!(
            read_row(
                &header,
                &row(&["a@b.c", "true", "", "", "", "maybe", "a", ""])
            )
            .is_err()
        );
        assert!(
            read_row(
                &header,
                &row(&["a@b.c", "true", "", "", "", "false", "", ""])
            )
            .is_err()
        );
        assert!(read_row(&header, &row(&["short"])).is_err());
    }
}
