//! DynamoDB JSON 1.0 requests → IAM actions, resources and condition keys, as DynamoDB's
//! fine-grained access control evaluates them (DynamoDB developer guide
//! `specifying-conditions`): `dynamodb:LeadingKeys` is the set of partition-key values a request
//! touches; batch operations authorize every table and every key; Transact* authorize each
//! item's own action. Pure: the operation, its JSON body and the tables' key schemas in.

use crate::Check;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// What the gateway knows of a table: its partition key and its indexes' partition keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSchema {
    pub partition_key: String,
    pub indexes: HashMap<String, String>,
}

impl TableSchema {
    /// From a DescribeTable answer's `Table`.
    pub fn from_description(table: &Value) -> Option<TableSchema> {
        let hash_key = |schema: &Value| {
            schema.as_array()?.iter().find_map(|k| {
                (k.get("KeyType")?.as_str()? == "HASH")
                    .then(|| k.get("AttributeName")?.as_str().map(str::to_string))?
            })
        };
        let partition_key = hash_key(table.get("KeySchema")?)?;
        let mut indexes = HashMap::new();
        for kind in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
            for index in table
                .get(kind)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(name), Some(pk)) = (
                    index.get("IndexName").and_then(Value::as_str),
                    index.get("KeySchema").and_then(hash_key),
                ) {
                    indexes.insert(name.to_string(), pk);
                }
            }
        }
        Some(TableSchema {
            partition_key,
            indexes,
        })
    }
}

/// The tables (by name) a request names, whose schemas the plan needs.
pub fn tables(operation: &str, body: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    match operation {
        "BatchGetItem" | "BatchWriteItem" => {
            if let Some(items) = body.get("RequestItems").and_then(Value::as_object) {
                out.extend(items.keys().cloned());
            }
        }
        "TransactGetItems" | "TransactWriteItems" => {
            for item in transact_items(body) {
                if let Some((_, op)) = item.as_object().and_then(|o| o.iter().next())
                    && let Some(t) = op.get("TableName").and_then(Value::as_str)
                {
                    out.insert(t.to_string());
                }
            }
        }
        _ => {
            if let Some(t) = body.get("TableName").and_then(Value::as_str) {
                out.insert(t.to_string());
            }
        }
    }
    out.into_iter().collect()
}

fn transact_items(body: &Value) -> impl Iterator<Item = &Value> {
    body.get("TransactItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Why a request can't be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A table (or index) whose key schema is unknown.
    UnknownTable,
    /// An item, key or key condition whose partition-key value can't be read. Never guessed:
    /// an empty `dynamodb:LeadingKeys` would satisfy ForAllValues.
    NoPartitionKey,
}

/// An attribute value as a condition-key string: S and N as written, B as its base64.
fn scalar(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    ["S", "N", "B"]
        .iter()
        .find_map(|t| o.get(*t).and_then(Value::as_str).map(str::to_string))
}

/// The partition-key value of an item or key map.
fn leading_key(item: Option<&Value>, partition_key: &str) -> Result<String, PlanError> {
    item.and_then(|i| i.get(partition_key))
        .and_then(scalar)
        .ok_or(PlanError::NoPartitionKey)
}

/// The partition-key values a Query's key condition fixes: `pk = :v` (names through
/// `ExpressionAttributeNames`) or the legacy `KeyConditions` `EQ`.
fn query_leading_keys(body: &Value, partition_key: &str) -> Vec<String> {
    if let Some(cond) = body.get("KeyConditions").and_then(|c| c.get(partition_key)) {
        return cond
            .get("AttributeValueList")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(scalar)
            .into_iter()
            .collect();
    }
    let Some(expr) = body.get("KeyConditionExpression").and_then(Value::as_str) else {
        return Vec::new();
    };
    let names = body.get("ExpressionAttributeNames");
    let values = body.get("ExpressionAttributeValues");
    let resolve_name = |token: &str| -> String {
        if token.starts_with('#') {
            names
                .and_then(|n| n.get(token))
                .and_then(Value::as_str)
                .unwrap_or(token)
                .to_string()
        } else {
            token.to_string()
        }
    };
    // Equality terms joined by AND: `a = :x AND begins_with(b, :y)`.
    let mut out = Vec::new();
    for term in split_and(expr) {
        let Some((left, right)) = term.split_once('=') else {
            continue;
        };
        // `(pk = :v)`: grouping parentheses around one comparison.
        let (left, right) = (
            left.trim().trim_start_matches('(').trim(),
            right.trim().trim_end_matches(')').trim(),
        );
        if left.ends_with(['<', '>', '!']) || right.starts_with('=') {
            continue;
        }
        let (name, value) = if right.starts_with(':') {
            (left, right)
        } else {
            (right, left)
        };
        if resolve_name(name) == partition_key
            && let Some(v) = values.and_then(|vals| vals.get(value)).and_then(scalar)
        {
            out.push(v);
        }
    }
    out
}

/// Splits on the keyword AND (any case), outside parentheses.
fn split_and(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = expr.as_bytes();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        if depth == 0
            && i + 5 <= bytes.len()
            && bytes[i] == b' '
            && bytes[i + 1..i + 4].eq_ignore_ascii_case(b"and")
            && bytes[i + 4] == b' '
        {
            parts.push(&expr[start..i]);
            start = i + 5;
            i += 5;
            continue;
        }
        i += 1;
    }
    parts.push(&expr[start..]);
    parts
}

/// The checks of one request. `arn` turns a table name into its ARN; `schema` finds a table's
/// key schema.
pub fn plan(
    operation: &str,
    body: &Value,
    arn: &dyn Fn(&str) -> String,
    schema: &dyn Fn(&str) -> Option<TableSchema>,
) -> Result<Vec<Check>, PlanError> {
    let action = format!("dynamodb:{operation}");
    let with_leading = |action: &str, resource: String, keys: Vec<String>| {
        let mut c = Check::new(action, &resource);
        c.leading_keys = Some(keys);
        c
    };
    let table_schema = |t: &str| schema(t).ok_or(PlanError::UnknownTable);
    let mut checks = Vec::new();
    match operation {
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" => {
            let table = body
                .get("TableName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let s = table_schema(table)?;
            let item = if operation == "PutItem" {
                body.get("Item")
            } else {
                body.get("Key")
            };
            let mut c = with_leading(
                &action,
                arn(table),
                vec![leading_key(item, &s.partition_key)?],
            );
            for (field, key) in [
                ("ReturnValues", "dynamodb:ReturnValues"),
                ("Select", "dynamodb:Select"),
            ] {
                if let Some(v) = body.get(field).and_then(Value::as_str) {
                    c.keys.push((key.into(), v.into()));
                }
            }
            checks.push(c);
        }
        "Query" => {
            let table = body
                .get("TableName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let s = table_schema(table)?;
            let (resource, pk) = match body.get("IndexName").and_then(Value::as_str) {
                Some(index) => (
                    format!("{}/index/{index}", arn(table)),
                    s.indexes
                        .get(index)
                        .cloned()
                        .ok_or(PlanError::UnknownTable)?,
                ),
                None => (arn(table), s.partition_key.clone()),
            };
            let keys = query_leading_keys(body, &pk);
            if keys.is_empty() {
                return Err(PlanError::NoPartitionKey);
            }
            let mut c = with_leading(&action, resource, keys);
            if let Some(v) = body.get("Select").and_then(Value::as_str) {
                c.keys.push(("dynamodb:Select".into(), v.into()));
            }
            checks.push(c);
        }
        "Scan" => {
            let table = body
                .get("TableName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let resource = match body.get("IndexName").and_then(Value::as_str) {
                Some(index) => format!("{}/index/{index}", arn(table)),
                None => arn(table),
            };
            // No LeadingKeys: a Scan touches every partition.
            checks.push(Check::new(&action, &resource));
        }
        "BatchGetItem" => {
            for (table, req) in body
                .get("RequestItems")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let s = table_schema(table)?;
                let keys = req
                    .get("Keys")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|k| leading_key(Some(k), &s.partition_key))
                    .collect::<Result<_, _>>()?;
                checks.push(with_leading(&action, arn(table), keys));
            }
        }
        "BatchWriteItem" => {
            for (table, reqs) in body
                .get("RequestItems")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let s = table_schema(table)?;
                let keys = reqs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let item = r
                            .get("PutRequest")
                            .and_then(|p| p.get("Item"))
                            .or_else(|| r.get("DeleteRequest").and_then(|d| d.get("Key")));
                        leading_key(item, &s.partition_key)
                    })
                    .collect::<Result<_, _>>()?;
                checks.push(with_leading(&action, arn(table), keys));
            }
        }
        "TransactGetItems" | "TransactWriteItems" => {
            for item in transact_items(body) {
                let Some((kind, op)) = item.as_object().and_then(|o| o.iter().next()) else {
                    continue;
                };
                let item_action = match kind.as_str() {
                    "Get" => "dynamodb:GetItem",
                    "Put" => "dynamodb:PutItem",
                    "Update" => "dynamodb:UpdateItem",
                    "Delete" => "dynamodb:DeleteItem",
                    "ConditionCheck" => "dynamodb:ConditionCheckItem",
                    _ => continue,
                };
                let table = op
                    .get("TableName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let s = table_schema(table)?;
                let key = if kind == "Put" {
                    op.get("Item")
                } else {
                    op.get("Key")
                };
                checks.push(with_leading(
                    item_action,
                    arn(table),
                    vec![leading_key(key, &s.partition_key)?],
                ));
            }
        }
        "ListTables" | "DescribeLimits" | "DescribeEndpoints" => {
            checks.push(Check::new(&action, "*"));
        }
        _ => {
            let resource = match body.get("TableName").and_then(Value::as_str) {
                Some(t) => arn(t),
                None => "*".to_string(),
            };
            checks.push(Check::new(&action, &resource));
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arn(t: &str) -> String {
        format!("arn:aws:dynamodb:us-west-2:123456789012:table/{t}")
    }

    fn schema(t: &str) -> Option<TableSchema> {
        (t == "MyTable" || t == "Other").then(|| TableSchema {
            partition_key: "pk".into(),
            indexes: HashMap::from([("byEmail".into(), "email".into())]),
        })
    }

    fn run(op: &str, body: Value) -> Vec<(String, String, Option<Vec<String>>)> {
        plan(op, &body, &arn, &schema)
            .unwrap()
            .into_iter()
            .map(|c| (c.action, c.resource, c.leading_keys))
            .collect()
    }

    fn keys(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn single_item_operations_carry_the_partition_key() {
        let t = arn("MyTable");
        for op in ["GetItem", "UpdateItem", "DeleteItem"] {
            assert_eq!(
                run(
                    op,
                    json!({"TableName":"MyTable","Key":{"pk":{"S":"S"},"sk":{"N":"1"}}})
                ),
                vec![(format!("dynamodb:{op}"), t.clone(), keys(&["S"]))]
            );
        }
        assert_eq!(
            run(
                "PutItem",
                json!({"TableName":"MyTable","Item":{"pk":{"S":"S#profile"},"x":{"S":"y"}}})
            ),
            vec![("dynamodb:PutItem".into(), t, keys(&["S#profile"]))]
        );
    }

    #[test]
    fn query_takes_the_partition_key_from_the_key_condition() {
        let t = arn("MyTable");
        let q = run(
            "Query",
            json!({"TableName":"MyTable","KeyConditionExpression":"#p = :v AND begins_with(sk, :s)",
                   "ExpressionAttributeNames":{"#p":"pk"},
                   "ExpressionAttributeValues":{":v":{"S":"S"},":s":{"S":"a"}}}),
        );
        assert_eq!(q, vec![("dynamodb:Query".into(), t.clone(), keys(&["S"]))]);
        let q = run(
            "Query",
            json!({"TableName":"MyTable","KeyConditionExpression":":v=pk",
                   "ExpressionAttributeValues":{":v":{"S":"S"}}}),
        );
        assert_eq!(q[0].2, keys(&["S"]));
        let q = run(
            "Query",
            json!({"TableName":"MyTable","KeyConditionExpression":"(pk = :v) AND (sk > :s)",
                   "ExpressionAttributeValues":{":v":{"S":"S"},":s":{"S":"a"}}}),
        );
        assert_eq!(q[0].2, keys(&["S"]));
        let q = run(
            "Query",
            json!({"TableName":"MyTable","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"O"}]}}}),
        );
        assert_eq!(q[0].2, keys(&["O"]));
        let q = run(
            "Query",
            json!({"TableName":"MyTable","IndexName":"byEmail","KeyConditionExpression":"email = :e",
                   "ExpressionAttributeValues":{":e":{"S":"a@b"}}}),
        );
        assert_eq!(
            q,
            vec![(
                "dynamodb:Query".into(),
                format!("{t}/index/byEmail"),
                keys(&["a@b"])
            )]
        );
    }

    #[test]
    fn scan_has_no_leading_keys() {
        assert_eq!(
            run("Scan", json!({"TableName":"MyTable"})),
            vec![("dynamodb:Scan".into(), arn("MyTable"), None)]
        );
    }

    #[test]
    fn batches_authorize_every_table_and_key() {
        let got = run(
            "BatchGetItem",
            json!({"RequestItems":{
                "MyTable":{"Keys":[{"pk":{"S":"S"}},{"pk":{"S":"O"}}]},
                "Other":{"Keys":[{"pk":{"S":"S"}}]}}}),
        );
        assert_eq!(
            got,
            vec![
                (
                    "dynamodb:BatchGetItem".into(),
                    arn("MyTable"),
                    keys(&["S", "O"])
                ),
                ("dynamodb:BatchGetItem".into(), arn("Other"), keys(&["S"])),
            ]
        );
        let got = run(
            "BatchWriteItem",
            json!({"RequestItems":{"MyTable":[
                {"PutRequest":{"Item":{"pk":{"S":"S"}}}},
                {"DeleteRequest":{"Key":{"pk":{"S":"O"}}}}]}}),
        );
        assert_eq!(
            got,
            vec![(
                "dynamodb:BatchWriteItem".into(),
                arn("MyTable"),
                keys(&["S", "O"])
            )]
        );
    }

    #[test]
    fn transactions_authorize_each_items_action() {
        let got = run(
            "TransactWriteItems",
            json!({"TransactItems":[
                {"Put":{"TableName":"MyTable","Item":{"pk":{"S":"S"}}}},
                {"Update":{"TableName":"MyTable","Key":{"pk":{"S":"S"}}}},
                {"Delete":{"TableName":"Other","Key":{"pk":{"S":"O"}}}},
                {"ConditionCheck":{"TableName":"MyTable","Key":{"pk":{"S":"S"}}}}]}),
        );
        let actions: Vec<&str> = got.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            actions,
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem"
            ]
        );
        assert_eq!(got[2].1, arn("Other"));
        assert_eq!(got[2].2, keys(&["O"]));
        assert_eq!(
            tables(
                "TransactWriteItems",
                &json!({"TransactItems":[{"Put":{"TableName":"A"}},{"Get":{"TableName":"B"}}]})
            ),
            vec!["A", "B"]
        );
    }

    #[test]
    fn unreadable_partition_keys_fail_closed() {
        for (op, body) in [
            (
                "GetItem",
                json!({"TableName":"MyTable","Key":{"sk":{"S":"x"}}}),
            ),
            (
                "PutItem",
                json!({"TableName":"MyTable","Item":{"pk":{"M":{}}}}),
            ),
            (
                "Query",
                json!({"TableName":"MyTable","KeyConditionExpression":"pk < :v","ExpressionAttributeValues":{":v":{"S":"S"}}}),
            ),
            (
                "Query",
                json!({"TableName":"MyTable","KeyConditionExpression":"pk = :nope"}),
            ),
            (
                "BatchGetItem",
                json!({"RequestItems":{"MyTable":{"Keys":[{"pk":{"S":"S"}},{"sk":{"S":"x"}}]}}}),
            ),
            (
                "TransactWriteItems",
                json!({"TransactItems":[{"Delete":{"TableName":"MyTable","Key":{}}}]}),
            ),
        ] {
            assert_eq!(
                plan(op, &body, &arn, &schema),
                Err(PlanError::NoPartitionKey),
                "{op} {body}"
            );
        }
        assert_eq!(
            plan(
                "Query",
                &json!({"TableName":"MyTable","IndexName":"new","KeyConditionExpression":"a = :v","ExpressionAttributeValues":{":v":{"S":"S"}}}),
                &arn,
                &schema
            ),
            Err(PlanError::UnknownTable)
        );
    }

    #[test]
    fn unknown_tables_and_other_operations() {
        assert_eq!(
            plan(
                "GetItem",
                &json!({"TableName":"Nope","Key":{}}),
                &arn,
                &schema
            ),
            Err(PlanError::UnknownTable)
        );
        assert_eq!(
            run("DescribeTable", json!({"TableName":"MyTable"})),
            vec![("dynamodb:DescribeTable".into(), arn("MyTable"), None)]
        );
        assert_eq!(
            run("ListTables", json!({})),
            vec![("dynamodb:ListTables".into(), "*".into(), None)]
        );
    }

    #[test]
    fn schemas_come_from_describe_table() {
        let s = TableSchema::from_description(&json!({
            "KeySchema":[{"AttributeName":"sk","KeyType":"RANGE"},{"AttributeName":"pk","KeyType":"HASH"}],
            "GlobalSecondaryIndexes":[{"IndexName":"g","KeySchema":[{"AttributeName":"email","KeyType":"HASH"}]}]
        }))
        .unwrap();
        assert_eq!(s.partition_key, "pk");
        assert_eq!(s.indexes["g"], "email");
    }
}
