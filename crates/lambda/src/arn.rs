//! Lambda function ARNs, as far as choosing an endpoint and a signing region needs them.

/// The parts of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FunctionArn<'a> {
    pub(crate) partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) name: &'a str,
}

impl<'a> FunctionArn<'a> {
    /// `None` for anything that isn't a well-formed Lambda function ARN (a bare function name,
    /// a layer ARN, a region that couldn't be part of a host name).
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (Some("function"), Some(name)) = (parts.next(), parts.next()) else {
            return None;
        };
        let qualifier = parts.next();
        if parts.next().is_some()
            || !is_label(partition)
            || !is_region(region)
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || name.is_empty()
            || qualifier.is_some_and(str::is_empty)
        {
            return None;
        }
        Some(Self {
            partition,
            region,
            name,
        })
    }

    /// The regional Lambda endpoint of the ARN's partition, if it is one Tessera knows.
    pub(crate) fn aws_endpoint(&self) -> Option<String> {
        aws_endpoint(self.partition, self.region)
    }
}

/// `https://lambda.{region}.{suffix}` for the public partitions.
pub(crate) fn aws_endpoint(partition: &str, region: &str) -> Option<String> {
    let suffix = match partition {
        "aws" | "aws-us-gov" => "amazonaws.com",
        "aws-cn" => "amazonaws.com.cn",
        _ => return None,
    };
    is_region(region).then(|| format!("https://lambda.{region}.{suffix}"))
}

/// What the region part of a host name may be: lower-case letters, digits and inner dashes,
/// starting with a letter (`us-east-1`, `cn-north-1`, `us-gov-west-1`).
pub(crate) fn is_region(s: &str) -> bool {
    is_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns() {
        let arn = FunctionArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up")
            .unwrap();
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.name, "pre-sign-up");
        assert_eq!(
            arn.aws_endpoint().as_deref(),
            Some("https://lambda.eu-west-1.amazonaws.com")
        );
        let qualified =
            FunctionArn::parse("arn:aws:lambda:us-east-1:123456789012:function:f:live").unwrap();
        assert_eq!(qualified.name, "f");
        let china =
            FunctionArn::parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:f").unwrap();
        assert_eq!(
            china.aws_endpoint().as_deref(),
            Some("https://lambda.cn-north-1.amazonaws.com.cn")
        );
    }

    #[test]
    fn not_function_arns() {
        for s in [
            "pre-sign-up",
            "arn:aws:lambda:us-east-1:123456789012:layer:l:1",
            "arn:aws:s3:us-east-1:123456789012:function:f",
            "arn:aws:lambda:us-east-1:12345:function:f",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:f:",
            "arn:aws:lambda:us-east-1:123456789012:function:f:1:2",
            "arn:aws:lambda:evil.example.com#:123456789012:function:f",
            "arn:aws:lambda:US-EAST-1:123456789012:function:f",
            "arn:aws:lambda::123456789012:function:f",
        ] {
            assert_eq!(FunctionArn::parse(s), None, "{s}");
        }
    }

    #[test]
    fn unknown_partitions_have_no_endpoint() {
        let arn =
            FunctionArn::parse("arn:aws-iso:lambda:us-iso-east-1:123456789012:function:f").unwrap();
        assert_eq!(arn.aws_endpoint(), None);
    }
}
