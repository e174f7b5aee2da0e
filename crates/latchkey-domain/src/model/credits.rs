//! Credit prices.

use std::collections::BTreeMap;

/// Price in credits of one unit of each billable thing (`second_video` → 10, `photo` → 100 by default).
pub type Pricing = BTreeMap<String, i64>;
