//! The same checks on the real Bengal showcase in `../shared/sites/` (57 pages, 4 sections, data
//! files, i18n). A fresh clone has no `../shared`, so these are ignored; scripts/test runs them
//! with `cargo test --release --test cli -- --ignored shared::` when the directory is there.
//! Each calls a test body that a test outside this module runs on a sample site.
use crate::analyze::{BengalSite, discovered_stage, rendered_stage};
use crate::scale::scale_a_bengal_site;
use crate::signals::ctrl_c_stops_a_rendered_run;
use crate::util::showcase;

/// The showcase (Bengal 0.1.2): 57 pages discovered; a Page drags the whole Site (over 400 KB)
/// through `page._site`; after a build the Site is megabytes and the default subset drags live
/// Pages through `metadata['_posts']` and `metadata['_paginator']`.
const SHOWCASE: BengalSite = BengalSite {
    pages: 57,
    min_site_drag_bytes: 400_000,
    suggested_shrink: 20,
    rendered_min_site_bytes: 2_000_000,
    rendered_min_subset_max_bytes: 1_000_000,
    rendered_max_suggested_median_bytes: 100_000,
    rendered_max_suggested_max_bytes: 1_000_000,
};

#[test]
#[ignore = "needs ../shared/sites (scripts/test runs it when present)"]
fn discovered_stage_reports_real_pickle_sizes() {
    discovered_stage(&showcase(), &SHOWCASE);
}

#[test]
#[ignore = "needs ../shared/sites (scripts/test runs it when present)"]
fn rendered_stage_builds_a_copy_and_leaves_the_site_byte_identical() {
    rendered_stage(&showcase(), &SHOWCASE);
}

#[test]
#[ignore = "needs ../shared/sites (scripts/test runs it when present)"]
fn ctrl_c_stops_the_tool_and_leaves_nothing_behind() {
    // A rendered build of the showcase takes seconds: the interrupt lands while Bengal is
    // building the copy.
    ctrl_c_stops_a_rendered_run(&showcase(), "1.5");
}

#[test]
#[ignore = "needs ../shared/sites (scripts/test runs it when present)"]
fn growth_points_match_standalone_runs_and_projections_stay_within_their_limit() {
    crate::growth::growth_of(&showcase(), 6);
}

#[test]
#[ignore = "needs ../shared/sites (scripts/test runs it when present)"]
fn scale_on_the_showcase() {
    scale_a_bengal_site(&showcase(), 12);
}
