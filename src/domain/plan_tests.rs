//! Keeps `vendor/numbering-plan/plan.txt` identical to phonenumber's own plan, and regenerates
//! it (`cargo test --lib regenerate_the_plan -- --ignored`) after a phonenumber upgrade.

use super::*;
use phonenumber::metadata::{DATABASE, Descriptor, Format, Metadata};

/// A region's number-type descriptors (fixed line … voicemail), those it has: what the tests
/// that walk every example number or every type pattern of the plan iterate over.
pub(crate) fn typed_descriptors(m: &Metadata) -> Vec<&Descriptor> {
    let d = m.descriptors();
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

thread_local! {
    /// How often this thread fell back to the whole-world plan (tests run one per thread).
    pub(crate) static WORLD_USES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A plan regex without its layout: phonenumber compiles every one with `ignore_whitespace`,
/// and none has an escaped space or a `#`, so the whitespace is only indentation (two thirds of
/// the file). The parse comparisons in `phone_tests.rs` check the result behaves the same.
fn regex(r: &str) -> String {
    assert!(!r.contains('#') && !r.contains("\\ "), "{r}");
    r.chars().filter(|c| !c.is_whitespace()).collect()
}

fn descriptor(d: &Descriptor) -> loader::Descriptor {
    loader::Descriptor {
        national_number: Some(regex(d.national_number().as_str())),
        possible_length: d.possible_length().to_vec(),
        possible_local_length: d.possible_local_length().to_vec(),
        example: d.example().map(str::to_string),
    }
}

fn format(f: &Format) -> loader::Format {
    loader::Format {
        pattern: Some(regex(f.pattern().as_str())),
        format: Some(f.format().to_string()),
        leading_digits: f
            .leading_digits()
            .iter()
            .map(|r| regex(r.as_str()))
            .collect(),
        national_prefix_formatting_rule: f.national_prefix().map(str::to_string),
        national_prefix_optional_when_formatting: f.is_national_prefix_optional(),
        domestic_carrier: f.domestic_carrier().map(str::to_string),
    }
}

/// phonenumber's compiled plan back into its loader form (every field `Database::from` reads).
fn metadata(m: &Metadata) -> loader::Metadata {
    let d = m.descriptors();
    loader::Metadata {
        general: Some(descriptor(d.general())),
        fixed_line: d.fixed_line().map(descriptor),
        mobile: d.mobile().map(descriptor),
        toll_free: d.toll_free().map(descriptor),
        premium_rate: d.premium_rate().map(descriptor),
        shared_cost: d.shared_cost().map(descriptor),
        personal_number: d.personal_number().map(descriptor),
        voip: d.voip().map(descriptor),
        pager: d.pager().map(descriptor),
        uan: d.uan().map(descriptor),
        emergency: d.emergency().map(descriptor),
        voicemail: d.voicemail().map(descriptor),
        short_code: d.short_code().map(descriptor),
        standard_rate: d.standard_rate().map(descriptor),
        carrier: d.carrier().map(descriptor),
        no_international: d.no_international().map(descriptor),
        id: Some(m.id().to_string()),
        country_code: Some(m.country_code()),
        international_prefix: m.international_prefix().map(|r| regex(r.as_str())),
        preferred_international_prefix: m.preferred_international_prefix().map(str::to_string),
        national_prefix: m.national_prefix().map(str::to_string),
        preferred_extension_prefix: m.preferred_extension_prefix().map(str::to_string),
        national_prefix_for_parsing: m.national_prefix_for_parsing().map(|r| regex(r.as_str())),
        national_prefix_transform_rule: m.national_prefix_transform_rule().map(str::to_string),
        formats: m.formats().iter().map(format).collect(),
        international_formats: m.international_formats().iter().map(format).collect(),
        main_country_for_code: m.is_main_country_for_code(),
        leading_digits: m.leading_digits().map(|r| regex(r.as_str())),
        mobile_number_portable: m.is_mobile_number_portable(),
        ..Default::default()
    }
}

/// The file's text as phonenumber's current plan gives it.
fn generate() -> String {
    // By code, not `DATABASE.iter()`: that walks regions by id, and the non-geographic codes
    // (+800, +808, +870, +878, +881…) all share the id `001`, so it shows only one of them.
    let codes = (1..=999u16).filter(|c| DATABASE.by_code(c).is_some());
    let (mut index, mut body) = (Vec::new(), String::new());
    for code in codes {
        let metas = DATABASE.by_code(&code).expect("a code from the plan");
        let ids: Vec<&str> = metas.iter().map(|m| m.id()).collect();
        let json: Vec<loader::Metadata> = metas.into_iter().map(metadata).collect();
        let json = serde_json::to_string(&json).expect("plan to JSON");
        index.push(format!(
            "{code}:{}:{}:{}",
            body.len(),
            body.len() + json.len(),
            ids.join(",")
        ));
        body.push_str(&json);
        body.push('\n');
    }
    format!("{}\n{body}", index.join(";"))
}

#[test]
fn the_compiled_in_plan_is_phonenumbers_plan() {
    assert!(
        PLAN == generate(),
        "vendor/numbering-plan/plan.txt differs from phonenumber's plan (upgraded?): \
         regenerate it with cargo test --lib regenerate_the_plan -- --ignored"
    );
}

/// Not a check: rewrites vendor/numbering-plan/plan.txt from phonenumber's plan, on request.
#[test]
#[ignore = "writes vendor/numbering-plan/plan.txt; run with --ignored after a phonenumber upgrade"]
fn regenerate_the_plan() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vendor/numbering-plan/plan.txt"
    );
    std::fs::write(path, generate()).expect("write plan.txt");
}

#[test]
fn every_code_builds_with_all_its_regions_main_first() {
    let mut codes = 0;
    for e in entries() {
        let db = for_code(e.code).unwrap_or_else(|| panic!("code {} does not build", e.code));
        let want: Vec<&str> = e.regions.split(',').collect();
        assert_eq!(db.region(&e.code), Some(want.clone()), "code {}", e.code);
        assert_eq!(DATABASE.region(&e.code), Some(want), "code {}", e.code);
        assert!(std::ptr::eq(db, for_code(e.code).unwrap()), "built once");
        codes += 1;
    }
    assert!(codes > 200, "only {codes} calling codes");
    let plans: usize = (1..=999u16)
        .filter_map(|c| DATABASE.by_code(&c))
        .map(|m| m.len())
        .sum();
    assert_eq!(
        entries()
            .map(|e| e.regions.split(',').count())
            .sum::<usize>(),
        plans
    );
    assert!(
        entries().filter(|e| e.regions == "001").count() >= 8,
        "non-geographic codes"
    );
}

#[test]
fn regions_and_prefixes_find_their_calling_code() {
    assert_eq!(code_of_region("US"), Some(1));
    assert_eq!(code_of_region("CA"), Some(1));
    assert_eq!(code_of_region("GB"), Some(44));
    assert_eq!(code_of_region("GG"), Some(44));
    assert_eq!(code_of_region("DE"), Some(49));
    assert_eq!(code_of_region("IN"), Some(91));
    assert_eq!(code_of_region("XX"), None);
    assert_eq!(code_of_region(""), None);
    assert_eq!(code_prefix("14155552671"), Some(1));
    assert_eq!(code_prefix("447911123456"), Some(44));
    assert_eq!(code_prefix("3531234567"), Some(353));
    assert_eq!(code_prefix("80012345678"), Some(800));
    assert_eq!(code_prefix("0064"), None);
    assert_eq!(code_prefix(""), None);
    assert!(for_code(999).is_none());
}
