//! Arithmetic expressions over numeric columns for `enrich.compute`
//! (`price * qty`, `(a + b) / 2`, `-x`): parsed once at init, evaluated
//! column-wise in f64. A null operand or a division by zero gives null.

use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::Float64Type;
use sluice_plugin_sdk::arrow_array::{Float64Array, RecordBatch};
use sluice_plugin_sdk::DataType;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Col(String),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

impl Expr {
    /// Parse `text`, naming the position of the first problem.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser {
            tokens: &tokens,
            pos: 0,
        };
        let e = p.sum()?;
        match p.tokens.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(format!("unexpected `{t:?}` in `{text}`")),
        }
    }

    /// Columns the expression reads.
    pub fn columns(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Col(c) => out.push(c.clone()),
            Expr::Neg(e) => e.columns(out),
            Expr::Bin(a, _, b) => {
                a.columns(out);
                b.columns(out);
            }
        }
    }

    /// Evaluate over every row of `batch`.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Float64Array, String> {
        let n = batch.num_rows();
        let values = self.eval(batch, n)?;
        Ok(Float64Array::from(values))
    }

    fn eval(&self, batch: &RecordBatch, n: usize) -> Result<Vec<Option<f64>>, String> {
        Ok(match self {
            Expr::Num(x) => vec![Some(*x); n],
            Expr::Col(name) => {
                let col = batch
                    .column_by_name(name)
                    .ok_or_else(|| format!("column `{name}` is not in the batch"))?;
                if !col.data_type().is_numeric() {
                    return Err(format!(
                        "column `{name}` is {}, not numeric",
                        col.data_type()
                    ));
                }
                let f = arrow_cast::cast(col, &DataType::Float64).map_err(|e| e.to_string())?;
                f.as_primitive::<Float64Type>().iter().collect()
            }
            Expr::Neg(e) => e
                .eval(batch, n)?
                .into_iter()
                .map(|v| v.map(|x| -x))
                .collect(),
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(batch, n)?, b.eval(batch, n)?);
                a.into_iter()
                    .zip(b)
                    .map(|(x, y)| match (x, y, op) {
                        (Some(x), Some(y), '+') => Some(x + y),
                        (Some(x), Some(y), '-') => Some(x - y),
                        (Some(x), Some(y), '*') => Some(x * y),
                        (Some(x), Some(y), '/') if y != 0.0 => Some(x / y),
                        _ => None,
                    })
                    .collect()
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Op(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/()".contains(c) {
            out.push(Token::Op(c));
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Token::Num(
                s.parse()
                    .map_err(|_| format!("bad number `{s}` in `{text}`"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            return Err(format!(
                "unexpected `{c}` at character {} of `{text}`",
                i + 1
            ));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<char> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(c)) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek_op() {
            self.pos += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.product()?));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek_op() {
            self.pos += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Op('-')) => Ok(Expr::Neg(Box::new(self.unary()?))),
            Some(Token::Op('(')) => {
                let e = self.sum()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Op(')')) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Num(x)) => Ok(Expr::Num(x)),
            Some(Token::Ident(name)) => Ok(Expr::Col(name)),
            Some(t) => Err(format!("unexpected `{t:?}`")),
            None => Err("expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_precedence_and_parentheses() {
        assert_eq!(
            Expr::parse("a + b * 2"),
            Ok(Expr::Bin(
                Box::new(Expr::Col("a".into())),
                '+',
                Box::new(Expr::Bin(
                    Box::new(Expr::Col("b".into())),
                    '*',
                    Box::new(Expr::Num(2.0))
                ))
            ))
        );
        assert!(Expr::parse("(a + b").is_err());
        assert!(Expr::parse("a $ b").is_err_and(|e| e.contains("character 3")));
    }
}
