//! PostHog property filters (`[{"key", "value", "operator"}]`, all must hold), validated
//! and compiled to a SQL condition whose every user-given value is a bind parameter.
//! Keys are either a source-contract column (from a fixed list) or a key of `properties`.

use crate::capture::{json_type, truncate};
use crate::error::{EngineError, Result};
use serde_json::Value;

/// A filter's operator, as PostHog names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Exact,
    IsNot,
    Icontains,
    NotIcontains,
    Regex,
    NotRegex,
    Gt,
    Gte,
    Lt,
    Lte,
    IsSet,
    IsNotSet,
}

impl Operator {
    pub const ALL: [Operator; 12] = [
        Operator::Exact,
        Operator::IsNot,
        Operator::Icontains,
        Operator::NotIcontains,
        Operator::Regex,
        Operator::NotRegex,
        Operator::Gt,
        Operator::Gte,
        Operator::Lt,
        Operator::Lte,
        Operator::IsSet,
        Operator::IsNotSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Exact => "exact",
            Operator::IsNot => "is_not",
            Operator::Icontains => "icontains",
            Operator::NotIcontains => "not_icontains",
            Operator::Regex => "regex",
            Operator::NotRegex => "not_regex",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::IsSet => "is_set",
            Operator::IsNotSet => "is_not_set",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the value is a regular expression (checked when a job is saved).
    pub fn is_regex(self) -> bool {
        matches!(self, Operator::Regex | Operator::NotRegex)
    }

    /// The SQL comparison of a numeric operator.
    fn comparison(self) -> Option<&'static str> {
        match self {
            Operator::Gt => Some(">"),
            Operator::Gte => Some(">="),
            Operator::Lt => Some("<"),
            Operator::Lte => Some("<="),
            _ => None,
        }
    }
}

/// Contract columns a filter key may name; anything else is a key of `properties`.
const TEXT_COLUMNS: &[&str] = &["item_id", "trace_id", "content"];
const NUMBER_COLUMNS: &[&str] = &["cost_usd", "latency_s", "tokens"];
const BOOL_COLUMNS: &[&str] = &["is_error"];

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub key: String,
    pub operator: Operator,
    /// exact/is_not: the accepted texts; icontains/regex: one pattern; gt..: one number.
    pub values: Vec<String>,
    pub number: Option<f64>,
}

/// A bind parameter of the compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    TextArray(Vec<String>),
    Float(f64),
}

pub fn parse_filters(value: &Value) -> Result<Vec<Filter>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(EngineError::invalid_parameter(format!(
                "filters must be a JSON array of {{\"key\", \"value\", \"operator\"}} objects, got {}",
                json_type(other)
            )))
        }
    };
    items.iter().enumerate().map(|(i, f)| parse_filter(i, f)).collect()
}

fn parse_filter(i: usize, f: &Value) -> Result<Filter> {
    let obj = f
        .as_object()
        .ok_or_else(|| EngineError::invalid_parameter(format!("filter {i} must be an object, got {}", json_type(f))))?;
    if let Some(k) = obj.keys().find(|k| !["key", "value", "operator", "type"].contains(&k.as_str())) {
        return Err(EngineError::invalid_parameter(format!("filter {i}: unknown field \"{}\"", truncate(k, 60))));
    }
    let key = match obj.get("key") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        other => {
            return Err(EngineError::invalid_parameter(format!(
                "filter {i}: \"key\" must be a non-empty string, got {}",
                other.map_or("nothing", json_type)
            )))
        }
    };
    let operator = match obj.get("operator") {
        None | Some(Value::Null) => Operator::Exact,
        Some(v) => match v.as_str().and_then(Operator::parse) {
            Some(operator) => operator,
            None => {
                return Err(EngineError::invalid_parameter(format!(
                    "filter {i}: unknown operator {}; expected one of {}",
                    truncate(&v.to_string(), 60),
                    Operator::ALL.map(Operator::as_str).join(", ")
                )))
            }
        },
    };
    let value = obj.get("value").unwrap_or(&Value::Null);
    let scalar_text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let wrong = |what: &str| {
        EngineError::invalid_parameter(format!(
            "filter {i} (\"{}\", {}): value must be {what}, got {}",
            truncate(&key, 60),
            operator.as_str(),
            json_type(value)
        ))
    };
    let mut filter = Filter { key: key.clone(), operator, values: Vec::new(), number: None };
    match operator {
        Operator::Exact | Operator::IsNot => {
            filter.values = match value {
                Value::Array(vs) if !vs.is_empty() => vs
                    .iter()
                    .map(scalar_text)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| wrong("a string, number, boolean or a list of them"))?,
                v => {
                    vec![scalar_text(v).ok_or_else(|| wrong("a string, number, boolean or a non-empty list of them"))?]
                }
            }
        }
        Operator::Icontains | Operator::NotIcontains | Operator::Regex | Operator::NotRegex => {
            filter.values = vec![scalar_text(value).filter(|_| !value.is_boolean()).ok_or_else(|| wrong("a string"))?]
        }
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
            let x = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            filter.number = Some(x.filter(|x| x.is_finite()).ok_or_else(|| wrong("a number"))?);
            if TEXT_COLUMNS.contains(&key.as_str()) || BOOL_COLUMNS.contains(&key.as_str()) {
                return Err(EngineError::invalid_parameter(format!(
                    "filter {i}: {} compares numbers, and column \"{key}\" is not a number",
                    operator.as_str()
                )));
            }
        }
        Operator::IsSet | Operator::IsNotSet => {} // no value
    }
    Ok(filter)
}

/// Compiles filters into one SQL condition over the alias `s`; each value goes to `bind`,
/// which returns its placeholder. Returns `TRUE` for no filters.
pub fn to_sql(filters: &[Filter], bind: &mut dyn FnMut(SqlParam) -> String) -> String {
    let mut parts = Vec::new();
    for f in filters {
        let column = [TEXT_COLUMNS, NUMBER_COLUMNS, BOOL_COLUMNS].concat().into_iter().find(|c| *c == f.key);
        let mut param = |p: SqlParam| bind(p);
        // Text of the value: a contract column (a fixed, known name) or a property.
        let needs_text =
            !matches!(f.operator, Operator::IsSet | Operator::IsNotSet) && f.operator.comparison().is_none();
        let text = match column {
            Some(c) => format!("s.{c}::text"),
            None if needs_text => format!("(s.properties ->> {})", param(SqlParam::Text(f.key.clone()))),
            None => String::new(),
        };
        let cond = match f.operator {
            Operator::Exact => format!("{text} = ANY({}::text[])", param(SqlParam::TextArray(f.values.clone()))),
            Operator::IsNot => {
                format!("({text} IS NULL OR {text} <> ALL({}::text[]))", param(SqlParam::TextArray(f.values.clone())))
            }
            Operator::Icontains => format!("{text} ILIKE {}", param(SqlParam::Text(like_pattern(&f.values[0])))),
            Operator::NotIcontains => {
                format!("({text} IS NULL OR {text} NOT ILIKE {})", param(SqlParam::Text(like_pattern(&f.values[0]))))
            }
            Operator::Regex => format!("{text} ~ {}", param(SqlParam::Text(f.values[0].clone()))),
            Operator::NotRegex => {
                format!("({text} IS NULL OR {text} !~ {})", param(SqlParam::Text(f.values[0].clone())))
            }
            Operator::IsSet | Operator::IsNotSet => {
                let set = match column {
                    Some(c) => format!("s.{c} IS NOT NULL"),
                    None => format!("s.properties ? {}", param(SqlParam::Text(f.key.clone()))),
                };
                if f.operator == Operator::IsSet {
                    set
                } else {
                    format!("NOT ({set})")
                }
            }
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
                let cmp = f.operator.comparison().unwrap_or("<=");
                let number = match column {
                    Some(c) => format!("s.{c}::float8"),
                    None => {
                        let k = param(SqlParam::Text(f.key.clone()));
                        format!("(CASE WHEN jsonb_typeof(s.properties -> {k}) = 'number' THEN (s.properties ->> {k})::float8 END)")
                    }
                };
                format!("{number} {cmp} {}::float8", param(SqlParam::Float(f.number.unwrap_or(0.0))))
            }
        };
        parts.push(cond);
    }
    if parts.is_empty() {
        "TRUE".into()
    } else {
        parts.join(" AND ")
    }
}

/// `%value%` with LIKE's wildcards in the value taken literally.
fn like_pattern(v: &str) -> String {
    let escaped = v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiles_to_parameters_only() {
        let hostile = "'; DROP TABLE llm_clusters.events; --";
        let f = parse_filters(&json!([
            {"key": "$ai_model", "value": ["gpt-4o", 4], "operator": "exact"},
            {"key": hostile, "value": hostile, "operator": "icontains"},
            {"key": "cost_usd", "value": "0.5", "operator": "gt"},
            {"key": "tier", "operator": "is_set"},
            {"key": "content", "value": "50%_off", "operator": "not_icontains"},
        ]))
        .unwrap();
        let mut params = Vec::new();
        let mut bind = |p: SqlParam| {
            params.push(p);
            format!("${}", params.len() + 3)
        };
        let sql = to_sql(&f, &mut bind);
        assert!(!sql.contains("DROP") && !sql.contains("gpt"), "{sql}");
        assert_eq!(
            sql,
            "(s.properties ->> $4) = ANY($5::text[]) AND (s.properties ->> $6) ILIKE $7 AND s.cost_usd::float8 > $8::float8 \
             AND s.properties ? $9 AND (s.content::text IS NULL OR s.content::text NOT ILIKE $10)"
        );
        assert_eq!(params[1], SqlParam::TextArray(vec!["gpt-4o".into(), "4".into()]));
        assert_eq!(params[4], SqlParam::Float(0.5));
        assert_eq!(params[6], SqlParam::Text("%50\\%\\_off%".into()));
        assert_eq!(to_sql(&[], &mut |_| unreachable!()), "TRUE");
        assert_eq!(
            f.iter().map(|f| f.operator.as_str()).collect::<Vec<_>>(),
            ["exact", "icontains", "gt", "is_set", "not_icontains"]
        );
        assert!(Operator::ALL.iter().all(|&o| Operator::parse(o.as_str()) == Some(o)));
    }

    #[test]
    fn rejects_malformed_filters() {
        for (v, needle) in [
            (json!({"key": "a"}), "filters must be a JSON array"),
            (json!(["a"]), "filter 0 must be an object"),
            (json!([{"value": 1}]), "\"key\" must be a non-empty string"),
            (json!([{"key": "a", "value": 1, "operator": "contains"}]), "unknown operator \"contains\""),
            (json!([{"key": "a", "value": {"x": 1}}]), "value must be a string, number, boolean"),
            (json!([{"key": "a", "value": []}]), "non-empty list"),
            (json!([{"key": "a", "value": "x", "operator": "gt"}]), "value must be a number"),
            (json!([{"key": "content", "value": 3, "operator": "lt"}]), "is not a number"),
            (json!([{"key": "a", "value": true, "operator": "regex"}]), "value must be a string"),
            (json!([{"key": "a", "value": 1, "operater": "exact"}]), "unknown field \"operater\""),
        ] {
            let e = parse_filters(&v).unwrap_err();
            assert!(e.message.contains(needle), "{v}: {}", e.message);
        }
    }
}
