//! Promotion codes as operators create them.

use super::{PromoCode, ValidationError};
use cinema_service::error::AtField;

/// A promotion about to be created: its code, how many orders it can pay for, and
/// what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPromotion {
    pub code: PromoCode,
    pub uses: PromotionUses,
    pub description: String,
}

impl NewPromotion {
    pub fn parse(code: &str, uses: i64, description: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            code: PromoCode::parse(code).at("code")?,
            uses: PromotionUses::parse(uses).at("uses")?,
            description: cinema_service::text::optional_text("description", description, 200)
                .at("description")?
                .unwrap_or_default(),
        })
    }
}

/// How many orders a new promotion can pay for: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromotionUses(i32);

impl PromotionUses {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: i64) -> Result<Self, ValidationError> {
        match i32::try_from(raw) {
            Ok(uses) if (1..=Self::MAX).contains(&raw) => Ok(Self(uses)),
            _ => Err(ValidationError::new(format!(
                "uses must be 1 to {}, got {raw}",
                Self::MAX
            ))),
        }
    }
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A promotion as it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub code: String,
    pub description: String,
    pub uses_remaining: i64,
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_promotion_is_read_as_operators_type_it() {
        let promotion = NewPromotion::parse(" summer-25 ", 100, "  ").expect("valid");
        assert_eq!(promotion.code.as_str(), "SUMMER-25");
        assert_eq!(promotion.uses.get(), 100);
        assert_eq!(promotion.description, "");
        for uses in [0, -1, PromotionUses::MAX + 1, i64::MAX] {
            let refused = NewPromotion::parse("SUMMER", uses, "").expect_err("refused");
            assert_eq!(refused.field(), Some("uses"), "{uses}");
        }
        let refused = NewPromotion::parse("no spaces", 1, "").expect_err("refused");
        assert_eq!(refused.field(), Some("code"));
        let refused = NewPromotion::parse("SUMMER", 1, &"x".repeat(201)).expect_err("refused");
        assert_eq!(refused.field(), Some("description"));
    }
}
