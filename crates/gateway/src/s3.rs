//! S3 REST requests → the IAM actions, resources and condition keys AWS authorizes them with
//! (S3 user guide `using-with-s3-policy-actions`, `amazon-s3-policy-keys`). Pure: the request's
//! method, bucket, key, query and headers in; the checks out.

use crate::Check;

/// An S3 request, as addressed (path-style or virtual-host style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request<'a> {
    pub method: &'a str,
    /// None for `GET /` (ListBuckets).
    pub bucket: Option<String>,
    /// The object key, decoded (None or empty for bucket operations).
    pub key: Option<String>,
    /// The query, decoded, in order.
    pub query: Vec<(String, String)>,
    /// `x-amz-copy-source`, when present.
    pub copy_source: Option<String>,
    /// `x-amz-acl`, when present.
    pub acl: Option<String>,
}

/// What a request needs before it is forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Plan {
    /// Every check must allow.
    Checks(Vec<Check>),
    /// DeleteObjects: the body names the keys; each needs `s3:DeleteObject` (or
    /// `s3:DeleteObjectVersion`).
    DeleteObjects { bucket: String },
    /// An operation this gateway does not map; only administrators may call it.
    Unmapped,
}

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

impl S3Request<'_> {
    fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The checks of a request (DeleteObjects' keys come from its body: see [`delete_keys`]).
pub fn plan(req: &S3Request<'_>) -> S3Plan {
    let Some(bucket) = req.bucket.as_deref() else {
        return match req.method {
            "GET" => S3Plan::Checks(vec![Check::new("s3:ListAllMyBuckets", "*")]),
            _ => S3Plan::Unmapped,
        };
    };
    let key = req.key.as_deref().filter(|k| !k.is_empty());
    match key {
        None => bucket_plan(req, bucket),
        Some(key) => object_plan(req, bucket, key),
    }
}

/// Bucket sub-resources and the actions their GET / PUT / DELETE need.
const BUCKET_SUBRESOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "policy",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
    ),
    (
        "tagging",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        "s3:PutBucketTagging",
    ),
    (
        "versioning",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "",
    ),
    ("acl", "s3:GetBucketAcl", "s3:PutBucketAcl", ""),
    (
        "cors",
        "s3:GetBucketCORS",
        "s3:PutBucketCORS",
        "s3:PutBucketCORS",
    ),
    ("location", "s3:GetBucketLocation", "", ""),
    (
        "lifecycle",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    (
        "encryption",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
    ),
    (
        "notification",
        "s3:GetBucketNotification",
        "s3:PutBucketNotification",
        "",
    ),
    (
        "website",
        "s3:GetBucketWebsite",
        "s3:PutBucketWebsite",
        "s3:DeleteBucketWebsite",
    ),
    (
        "ownershipControls",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    (
        "publicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ),
];

fn bucket_plan(req: &S3Request<'_>, bucket: &str) -> S3Plan {
    let arn = bucket_arn(bucket);
    let one = |action: &str| S3Plan::Checks(vec![Check::new(action, &arn)]);
    if let Some((_, get, put, delete)) = BUCKET_SUBRESOURCES.iter().find(|(s, ..)| req.has(s)) {
        let action = match req.method {
            "GET" | "HEAD" => *get,
            "PUT" => *put,
            "DELETE" => *delete,
            _ => "",
        };
        return if action.is_empty() {
            S3Plan::Unmapped
        } else {
            one(action)
        };
    }
    match req.method {
        "GET" if req.has("versions") => one("s3:ListBucketVersions"),
        "GET" if req.has("uploads") => one("s3:ListBucketMultipartUploads"),
        "GET" => {
            // ListObjects / ListObjectsV2: the listing parameters are condition keys.
            let mut check = Check::new("s3:ListBucket", &arn);
            for (param, key) in [
                ("prefix", "s3:prefix"),
                ("delimiter", "s3:delimiter"),
                ("max-keys", "s3:max-keys"),
            ] {
                if let Some(v) = req.param(param) {
                    check.keys.push((key.to_string(), v.to_string()));
                }
            }
            S3Plan::Checks(vec![check])
        }
        "HEAD" => one("s3:ListBucket"),
        "PUT" => {
            let mut check = Check::new("s3:CreateBucket", &arn);
            if let Some(acl) = &req.acl {
                check.keys.push(("s3:x-amz-acl".into(), acl.clone()));
            }
            S3Plan::Checks(vec![check])
        }
        "DELETE" => one("s3:DeleteBucket"),
        "POST" if req.has("delete") => S3Plan::DeleteObjects {
            bucket: bucket.to_string(),
        },
        _ => S3Plan::Unmapped,
    }
}

/// `x-amz-copy-source`: `bucket/key` or `/bucket/key`, percent-encoded, optionally with
/// `?versionId=`.
fn copy_source_check(source: &str) -> Option<Check> {
    let (path, version) = match source.split_once("?versionId=") {
        Some((p, v)) => (p, Some(v)),
        None => (source, None),
    };
    let decoded = crate::percent_decode_str(path.trim_start_matches('/'));
    let (bucket, key) = decoded.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    let action = if version.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    Some(Check::new(action, &object_arn(bucket, key)))
}

fn object_plan(req: &S3Request<'_>, bucket: &str, key: &str) -> S3Plan {
    let arn = object_arn(bucket, key);
    let versioned = req.has("versionId");
    let pick = |plain: &'static str, version: &'static str| {
        if versioned { version } else { plain }
    };
    let action = match req.method {
        "GET" | "HEAD" if req.has("acl") => pick("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        "GET" if req.has("tagging") => pick("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        "GET" if req.has("uploadId") => "s3:ListMultipartUploadParts",
        "GET" if req.has("attributes") => pick("s3:GetObject", "s3:GetObjectVersion"),
        "GET" | "HEAD" => pick("s3:GetObject", "s3:GetObjectVersion"),
        "PUT" if req.has("acl") => pick("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        "PUT" if req.has("tagging") => pick("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        "PUT" => "s3:PutObject",
        "POST" if req.has("uploads") || req.has("uploadId") => "s3:PutObject",
        "POST" if req.has("restore") => "s3:RestoreObject",
        "DELETE" if req.has("uploadId") => "s3:AbortMultipartUpload",
        "DELETE" if req.has("tagging") => {
            pick("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging")
        }
        "DELETE" => pick("s3:DeleteObject", "s3:DeleteObjectVersion"),
        _ => return S3Plan::Unmapped,
    };
    let mut check = Check::new(action, &arn);
    if let Some(v) = req.param("versionId") {
        check.keys.push(("s3:VersionId".into(), v.to_string()));
    }
    if req.method == "PUT"
        && let Some(acl) = &req.acl
    {
        check.keys.push(("s3:x-amz-acl".into(), acl.clone()));
    }
    let mut checks = vec![check];
    // CopyObject and UploadPartCopy read the source: GetObject on it too.
    if req.method == "PUT"
        && let Some(source) = &req.copy_source
    {
        match copy_source_check(source) {
            Some(c) => checks.push(c),
            None => return S3Plan::Unmapped,
        }
    }
    S3Plan::Checks(checks)
}

/// The keys (and version ids) a DeleteObjects body names:
/// `<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object>…</Delete>`.
pub fn delete_keys(body: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<Object>") {
        let after = &rest[start + "<Object>".len()..];
        let end = after.find("</Object>")?;
        let object = &after[..end];
        let key = element(object, "Key")?;
        out.push((
            xml_unescape(key),
            element(object, "VersionId").map(xml_unescape),
        ));
        rest = &after[end..];
    }
    Some(out)
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The checks of a DeleteObjects request, one per key.
pub fn delete_checks(bucket: &str, keys: &[(String, Option<String>)]) -> Vec<Check> {
    keys.iter()
        .map(|(key, version)| {
            let mut c = Check::new(
                if version.is_some() {
                    "s3:DeleteObjectVersion"
                } else {
                    "s3:DeleteObject"
                },
                &object_arn(bucket, key),
            );
            if let Some(v) = version {
                c.keys.push(("s3:VersionId".into(), v.clone()));
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(
        method: &'a str,
        bucket: Option<&str>,
        key: Option<&str>,
        q: &[(&str, &str)],
    ) -> S3Request<'a> {
        S3Request {
            method,
            bucket: bucket.map(str::to_string),
            key: key.map(str::to_string),
            query: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            copy_source: None,
            acl: None,
        }
    }

    fn actions(plan: S3Plan) -> Vec<(String, String)> {
        match plan {
            S3Plan::Checks(c) => c.into_iter().map(|c| (c.action, c.resource)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_map_to_actions_and_resources() {
        let b = Some("mybucket");
        let k = Some("us-east-1:abc/a.txt");
        let obj = "arn:aws:s3:::mybucket/us-east-1:abc/a.txt";
        let bucket = "arn:aws:s3:::mybucket";
        let table: &[(S3Request<'_>, &str, &str)] = &[
            (req("GET", None, None, &[]), "s3:ListAllMyBuckets", "*"),
            (
                req("GET", b, None, &[("list-type", "2")]),
                "s3:ListBucket",
                bucket,
            ),
            (req("HEAD", b, None, &[]), "s3:ListBucket", bucket),
            (
                req("GET", b, None, &[("versions", "")]),
                "s3:ListBucketVersions",
                bucket,
            ),
            (
                req("GET", b, None, &[("uploads", "")]),
                "s3:ListBucketMultipartUploads",
                bucket,
            ),
            (
                req("GET", b, None, &[("location", "")]),
                "s3:GetBucketLocation",
                bucket,
            ),
            (
                req("PUT", b, None, &[("policy", "")]),
                "s3:PutBucketPolicy",
                bucket,
            ),
            (
                req("DELETE", b, None, &[("tagging", "")]),
                "s3:PutBucketTagging",
                bucket,
            ),
            (req("PUT", b, None, &[]), "s3:CreateBucket", bucket),
            (req("DELETE", b, None, &[]), "s3:DeleteBucket", bucket),
            (req("GET", b, k, &[]), "s3:GetObject", obj),
            (req("HEAD", b, k, &[]), "s3:GetObject", obj),
            (
                req("GET", b, k, &[("versionId", "v1")]),
                "s3:GetObjectVersion",
                obj,
            ),
            (req("PUT", b, k, &[]), "s3:PutObject", obj),
            (
                req("PUT", b, k, &[("partNumber", "1"), ("uploadId", "u")]),
                "s3:PutObject",
                obj,
            ),
            (req("POST", b, k, &[("uploads", "")]), "s3:PutObject", obj),
            (req("POST", b, k, &[("uploadId", "u")]), "s3:PutObject", obj),
            (
                req("GET", b, k, &[("uploadId", "u")]),
                "s3:ListMultipartUploadParts",
                obj,
            ),
            (
                req("DELETE", b, k, &[("uploadId", "u")]),
                "s3:AbortMultipartUpload",
                obj,
            ),
            (req("DELETE", b, k, &[]), "s3:DeleteObject", obj),
            (
                req("DELETE", b, k, &[("versionId", "v")]),
                "s3:DeleteObjectVersion",
                obj,
            ),
            (
                req("GET", b, k, &[("tagging", "")]),
                "s3:GetObjectTagging",
                obj,
            ),
            (req("PUT", b, k, &[("acl", "")]), "s3:PutObjectAcl", obj),
        ];
        for (r, action, resource) in table {
            assert_eq!(
                actions(plan(r)),
                vec![(action.to_string(), resource.to_string())],
                "{r:?}"
            );
        }
    }

    #[test]
    fn list_parameters_become_condition_keys() {
        let r = req(
            "GET",
            Some("b"),
            None,
            &[("list-type", "2"), ("prefix", "S/"), ("delimiter", "/")],
        );
        let S3Plan::Checks(c) = plan(&r) else {
            panic!()
        };
        assert_eq!(
            c[0].keys,
            vec![
                ("s3:prefix".to_string(), "S/".to_string()),
                ("s3:delimiter".into(), "/".into())
            ]
        );
        // No prefix parameter: no s3:prefix key (StringLike on it is then false).
        let S3Plan::Checks(c) = plan(&req("GET", Some("b"), None, &[])) else {
            panic!()
        };
        assert!(c[0].keys.is_empty());
    }

    #[test]
    fn copy_needs_get_on_the_source() {
        let mut r = req("PUT", Some("b"), Some("dst"), &[]);
        r.copy_source = Some("/src-bucket/some%20key.txt?versionId=3".into());
        assert_eq!(
            actions(plan(&r)),
            vec![
                ("s3:PutObject".into(), "arn:aws:s3:::b/dst".into()),
                (
                    "s3:GetObjectVersion".into(),
                    "arn:aws:s3:::src-bucket/some key.txt".into()
                )
            ]
        );
        r.copy_source = Some("nobucket".into());
        assert_eq!(plan(&r), S3Plan::Unmapped);
    }

    #[test]
    fn multi_object_delete_checks_every_key() {
        let body = "<?xml version=\"1.0\"?><Delete><Object><Key>S/a</Key></Object>\
            <Object><Key>O/b&amp;c</Key><VersionId>7</VersionId></Object><Quiet>true</Quiet></Delete>";
        let keys = delete_keys(body).unwrap();
        assert_eq!(
            keys,
            vec![("S/a".into(), None), ("O/b&c".into(), Some("7".into()))]
        );
        let checks = delete_checks("bk", &keys);
        assert_eq!(checks[0].action, "s3:DeleteObject");
        assert_eq!(checks[1].action, "s3:DeleteObjectVersion");
        assert_eq!(checks[1].resource, "arn:aws:s3:::bk/O/b&c");
        assert_eq!(
            plan(&req("POST", Some("bk"), None, &[("delete", "")])),
            S3Plan::DeleteObjects {
                bucket: "bk".into()
            }
        );
    }

    #[test]
    fn unknown_operations_are_unmapped() {
        assert_eq!(
            plan(&req("PATCH", Some("b"), Some("k"), &[])),
            S3Plan::Unmapped
        );
        assert_eq!(plan(&req("PUT", None, None, &[])), S3Plan::Unmapped);
        assert_eq!(
            plan(&req("GET", Some("b"), None, &[("location", "")])),
            S3Plan::Checks(vec![Check::new("s3:GetBucketLocation", "arn:aws:s3:::b")])
        );
    }
}
