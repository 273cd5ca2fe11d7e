//! `Augment`: the data augmentation of a run, as a list of transforms applied to each
//! training mini-batch (never to validation, evaluation or prediction). Written as a spec
//! `name[:value],...` (e.g. `shift:2,rotate:10,flip`), which is also its form in files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One transform of the training batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AugmentItem {
    /// Images: shift by up to this many pixels in each direction, zeros filled in.
    Shift(usize),
    /// Images: rotate about the centre by an angle within ± this many degrees (bilinear).
    Rotate(f32),
    /// Images: mirror left to right with probability 1/2.
    Flip,
    /// Numeric inputs: add Gaussian noise of this standard deviation (in standardised
    /// units) to the numeric and ordinal columns.
    Noise(f32),
    /// Mix each row and its target with another row of the batch, λ ~ Beta(α, α) with
    /// this α.
    Mixup(f32),
    /// Text: replace each valid token id by the out-of-vocabulary id 0 with this
    /// probability.
    TokenDropout(f32),
}

/// Every transform with the form of its value, as the spec writes them.
pub const AUGMENT_FORMS: &str =
    "shift:N, rotate:DEG, flip, noise:SIGMA, mixup:ALPHA, token-dropout:P";

impl AugmentItem {
    /// The name in a spec: `shift`, `rotate`, `flip`, `noise`, `mixup`, `token-dropout`.
    pub fn name(&self) -> &'static str {
        match self {
            AugmentItem::Shift(_) => "shift",
            AugmentItem::Rotate(_) => "rotate",
            AugmentItem::Flip => "flip",
            AugmentItem::Noise(_) => "noise",
            AugmentItem::Mixup(_) => "mixup",
            AugmentItem::TokenDropout(_) => "token-dropout",
        }
    }

    /// Whether it transforms images (needs an image shape).
    pub fn is_image(&self) -> bool {
        matches!(
            self,
            AugmentItem::Shift(_) | AugmentItem::Rotate(_) | AugmentItem::Flip
        )
    }

    /// One item `name[:value]`; the error says what is wrong and what is expected.
    fn parse(item: &str) -> Result<Self, String> {
        let (name, value) = match item.split_once(':') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (item.trim(), None),
        };
        let form = match name {
            "shift" => "shift:N",
            "rotate" => "rotate:DEG",
            "flip" => "flip",
            "noise" => "noise:SIGMA",
            "mixup" => "mixup:ALPHA",
            "token-dropout" => "token-dropout:P",
            _ => {
                return Err(format!(
                    "unknown augmentation '{name}'; expected one of: {AUGMENT_FORMS}"
                ))
            }
        };
        let value = match (name, value) {
            ("flip", None) => return Ok(AugmentItem::Flip),
            ("flip", Some(_)) => return Err(format!("'{item}': flip takes no value")),
            (_, None) => return Err(format!("'{item}' needs a value; expected {form}")),
            (_, Some(value)) => value,
        };
        let out_of_range =
            |expected: &str| format!("'{item}' is out of range; expected {form} with {expected}");
        if name == "shift" {
            return match value.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(AugmentItem::Shift(n)),
                Ok(_) => Err(out_of_range("N a whole number of at least 1")),
                Err(_) => Err(format!(
                    "'{item}' is not {form}; expected N a whole number of pixels"
                )),
            };
        }
        let Ok(v) = value.parse::<f32>() else {
            return Err(format!(
                "'{item}' is not {form}; expected a number after ':'"
            ));
        };
        match name {
            "rotate" if v > 0.0 && v <= 180.0 => Ok(AugmentItem::Rotate(v)),
            "rotate" => Err(out_of_range("DEG greater than 0 and at most 180")),
            "noise" if v.is_finite() && v > 0.0 => Ok(AugmentItem::Noise(v)),
            "noise" => Err(out_of_range("SIGMA greater than 0")),
            "mixup" if v.is_finite() && v > 0.0 => Ok(AugmentItem::Mixup(v)),
            "mixup" => Err(out_of_range("ALPHA greater than 0")),
            _ if v > 0.0 && v < 1.0 => Ok(AugmentItem::TokenDropout(v)),
            _ => Err(out_of_range("P greater than 0 and less than 1")),
        }
    }
}

impl fmt::Display for AugmentItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AugmentItem::Shift(n) => write!(f, "shift:{n}"),
            AugmentItem::Rotate(v)
            | AugmentItem::Noise(v)
            | AugmentItem::Mixup(v)
            | AugmentItem::TokenDropout(v) => write!(f, "{}:{v}", self.name()),
            AugmentItem::Flip => f.write_str("flip"),
        }
    }
}

/// The transforms of a run, each at most once; empty (the default) is no augmentation.
/// Files hold it as its spec text, e.g. `"noise:0.05,mixup:0.2"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Augment(pub Vec<AugmentItem>);

impl Augment {
    /// No augmentation.
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }

    /// The image transforms among the items.
    pub fn image_items(&self) -> impl Iterator<Item = &AugmentItem> {
        self.0.iter().filter(|i| i.is_image())
    }

    /// The item named `name`, if present.
    pub fn find(&self, name: &str) -> Option<&AugmentItem> {
        self.0.iter().find(|i| i.name() == name)
    }
}

impl FromStr for Augment {
    type Err = String;

    /// Comma-separated items `name[:value]`; an empty spec, an unknown name, a missing or
    /// extra value, a value out of range or an item given twice is an error.
    fn from_str(spec: &str) -> Result<Self, String> {
        if spec.trim().is_empty() {
            return Err(format!(
                "no augmentation given; expected one or more of: {AUGMENT_FORMS}"
            ));
        }
        let mut items: Vec<AugmentItem> = Vec::new();
        for part in spec.split(',') {
            let item = AugmentItem::parse(part)?;
            if items.iter().any(|i| i.name() == item.name()) {
                return Err(format!(
                    "'{}' is given twice; expected each augmentation at most once",
                    item.name()
                ));
            }
            items.push(item);
        }
        Ok(Augment(items))
    }
}

impl fmt::Display for Augment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(","))
    }
}

impl TryFrom<String> for Augment {
    type Error = String;

    fn try_from(spec: String) -> Result<Self, String> {
        if spec.is_empty() {
            return Ok(Augment::default());
        }
        spec.parse()
    }
}

impl From<Augment> for String {
    fn from(augment: Augment) -> String {
        augment.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(spec: &str) -> String {
        spec.parse::<Augment>().unwrap_err()
    }

    #[test]
    fn specs_parse_and_print_back() {
        let a: Augment = "shift:2, rotate:10,flip".parse().unwrap();
        assert_eq!(
            a.0,
            vec![
                AugmentItem::Shift(2),
                AugmentItem::Rotate(10.0),
                AugmentItem::Flip
            ]
        );
        assert_eq!(a.to_string(), "shift:2,rotate:10,flip");
        let b: Augment = "noise:0.05,mixup:0.2,token-dropout:0.1".parse().unwrap();
        assert_eq!(b.to_string(), "noise:0.05,mixup:0.2,token-dropout:0.1");
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            "\"noise:0.05,mixup:0.2,token-dropout:0.1\""
        );
        let back: Augment =
            serde_json::from_str("\"noise:0.05,mixup:0.2,token-dropout:0.1\"").unwrap();
        assert_eq!(back, b);
        assert!(serde_json::from_str::<Augment>("\"\"").unwrap().is_none());
        assert_eq!(a.image_items().count(), 3);
        assert_eq!(b.find("mixup"), Some(&AugmentItem::Mixup(0.2)));
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        let forms =
            "expected one of: shift:N, rotate:DEG, flip, noise:SIGMA, mixup:ALPHA, token-dropout:P";
        assert_eq!(
            err("blur:2"),
            format!("unknown augmentation 'blur'; {forms}")
        );
        assert_eq!(
            err(""),
            format!(
                "no augmentation given; {}",
                forms.replace("one of", "one or more of")
            )
        );
        assert_eq!(err("shift"), "'shift' needs a value; expected shift:N");
        assert_eq!(err("flip:1"), "'flip:1': flip takes no value");
        assert_eq!(
            err("shift:0"),
            "'shift:0' is out of range; expected shift:N with N a whole number of at least 1"
        );
        assert_eq!(
            err("shift:1.5"),
            "'shift:1.5' is not shift:N; expected N a whole number of pixels"
        );
        assert_eq!(
            err("rotate:200"),
            "'rotate:200' is out of range; expected rotate:DEG with DEG greater than 0 and at most 180"
        );
        assert_eq!(
            err("noise:x"),
            "'noise:x' is not noise:SIGMA; expected a number after ':'"
        );
        assert_eq!(
            err("noise:-1"),
            "'noise:-1' is out of range; expected noise:SIGMA with SIGMA greater than 0"
        );
        assert_eq!(
            err("mixup:0"),
            "'mixup:0' is out of range; expected mixup:ALPHA with ALPHA greater than 0"
        );
        assert_eq!(
            err("token-dropout:1"),
            "'token-dropout:1' is out of range; expected token-dropout:P with P greater than 0 and less than 1"
        );
        assert_eq!(
            err("flip,flip"),
            "'flip' is given twice; expected each augmentation at most once"
        );
    }
}
