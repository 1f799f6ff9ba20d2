//! Icicle chart of where a pickle's bytes go, by object path.
use super::*;
use crate::units as format;

const ICICLE_WIDTH: u32 = 1200;
const ROW: u32 = 46;
/// Levels drawn below and including the root.
const MAX_LEVELS: u32 = 8;

/// The label of one box: "path · size".
fn box_label(node: &TreeNode) -> String {
    format!("{} · {}", node.label, format::bytes_sig(node.bytes as f64))
}

/// Icicle chart: the root spans the full width, each level below splits its parent's width
/// by bytes, so wide boxes are where a pickle's bytes go.
pub fn icicle(tree: &TreeNode, title: &str) -> Result<String> {
    fn depth(n: &TreeNode) -> u32 {
        1 + n.children.iter().map(depth).max().unwrap_or(0)
    }
    let levels = depth(tree).min(MAX_LEVELS);
    let height = HEADER + 20 + levels * ROW + 20;
    render((ICICLE_WIDTH, height), |root| {
        let body = header(
            root,
            title,
            &format!(
                "{} in all · box width = bytes written for that object and what it holds first",
                format::bytes_sig(tree.bytes as f64)
            ),
        )?;
        let (w, _) = body.dim_in_pixel();
        let left = 20i32;
        let usable = (w as i32 - 40).max(1) as f64;
        draw_node(&body, tree, left as f64, usable, 0, levels, 0)
    })
}

fn draw_node(
    area: &Area<'_>,
    node: &TreeNode,
    x: f64,
    width: f64,
    level: u32,
    levels: u32,
    index: usize,
) -> Result<()> {
    if level >= levels || width < 1.0 {
        return Ok(());
    }
    let y = 10 + (level * ROW) as i32;
    let x0 = x.round() as i32;
    let x1 = (x + width).round() as i32 - 1;
    let fill = color(index + level as usize * 3).mix(0.85);
    area.draw(&Rectangle::new(
        [(x0, y), (x1.max(x0), y + ROW as i32 - 4)],
        fill.filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(x0, y), (x1.max(x0), y + ROW as i32 - 4)],
        WHITE.stroke_width(1),
    ))?;
    // Only label boxes wide enough to read (about 7 px per character at this size).
    let text = box_label(node);
    let fits = ((width - 8.0) / 7.0).max(0.0) as usize;
    if fits >= 6 {
        let shown: String = if text.chars().count() > fits {
            text.chars().take(fits.saturating_sub(1)).collect::<String>() + "…"
        } else {
            text
        };
        area.draw(&Text::new(
            clean(&shown),
            (x0 + 4, y + (ROW as i32 - 4) / 2),
            anchored(font(13.0, WHITE), HPos::Left, VPos::Center),
        ))?;
    }
    let total: u64 = node.bytes.max(1);
    let mut cx = x;
    for (i, child) in node.children.iter().enumerate() {
        let cw = width * child.bytes as f64 / total as f64;
        draw_node(area, child, cx, cw, level + 1, levels, index * 7 + i + 1)?;
        cx += cw;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    fn node(label: &str, bytes: u64, children: Vec<TreeNode>) -> TreeNode {
        TreeNode {
            label: label.to_string(),
            bytes,
            children,
        }
    }

    #[test]
    fn boxes_are_labelled_with_path_and_size() {
        let tree = node(
            "site",
            1_500_000,
            vec![
                node(
                    "site.pages",
                    1_200_000,
                    vec![node("site.pages[0]", 600_000, vec![])],
                ),
                node("site.config", 290_000, vec![]),
                node("site.tiny", 10, vec![]),
            ],
        );
        let s = svg(icicle(&tree, "Where the Site's pickled bytes go").unwrap());
        assert!(has_text(&s, "Where the Site's pickled bytes go"));
        assert!(has_text(
            &s,
            "1.5 MB in all · box width = bytes written for that object and what it holds first"
        ));
        for label in [
            "site · 1.5 MB",
            "site.pages · 1.2 MB",
            "site.pages[0] · 600 KB",
            "site.config · 290 KB",
        ] {
            assert!(has_text(&s, label), "missing {label:?} in {:?}", texts(&s));
        }
        // a 10-byte box among 1.5 MB is under a pixel wide: not drawn at all
        assert!(!s.contains("site.tiny"));
    }

    #[test]
    fn narrow_boxes_are_truncated_and_deep_trees_cut() {
        let mut deep = node("leaf", 1000, vec![]);
        for level in (0..12).rev() {
            deep = node(&format!("level{level}"), 1000, vec![deep]);
        }
        let s = svg(icicle(&deep, "deep").unwrap());
        assert!(has_text(&s, &format!("level{} · 1 KB", MAX_LEVELS - 1)));
        assert!(!s.contains(&format!("level{} ", MAX_LEVELS)));

        let long = "x".repeat(40);
        let tree = node(
            "root",
            10_000,
            vec![node(&long, 500, vec![]), node("rest", 9_500, vec![])],
        );
        let s = svg(icicle(&tree, "t").unwrap());
        // 500 of 10,000 bytes of ~1160 px is ~58 px: about 7 characters, ending in an ellipsis
        assert!(
            texts(&s)
                .iter()
                .any(|t| t.starts_with("xxx") && t.ends_with('…') && t.chars().count() < 10)
        );
        assert!(!has_text(&s, &box_label(&tree.children[0])));
    }
}
