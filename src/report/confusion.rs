//! The confusion matrix as a heat map: one cell per (true, predicted) class pair, coloured
//! by the share of the true class's rows, with the count and that share written in it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::error::DrawError;
use super::svg::{clip, svg, text_style};
use crate::metrics::LabeledConfusionMatrix;

/// A share as a whole percentage that never rounds a nonzero share to 0% or a partial one
/// to 100%.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1%".to_string()
    } else if (99.5..100.0).contains(&p) {
        ">99%".to_string()
    } else {
        format!("{p:.0}%")
    }
}

/// White to blue by `fraction` in [0, 1].
fn heat(fraction: f64) -> RGBColor {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |white: f64, full: f64| (white + (full - white) * f).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 69.0), mix(255.0, 148.0))
}

/// The confusion matrix as an SVG heat map: cell colour is the share of the true class's
/// rows (the recall on the diagonal), the text the count and that share.
pub(crate) fn confusion_chart(cm: &LabeledConfusionMatrix) -> Result<String, DrawError> {
    let k = cm.labels.len().max(1) as i32;
    let cell = (360 / k).clamp(30, 90);
    // Labels too long for a column: the columns are numbered and the rows say which
    // number is which label ("label [2]").
    let fits = ((cell - 6) / 8).max(2) as usize;
    let numbered = cm.labels.iter().any(|l| l.chars().count() > fits);
    let row_labels: Vec<String> = cm
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if numbered {
                format!("{} [{}]", clip(l, 22), i + 1)
            } else {
                l.clone()
            }
        })
        .collect();
    let label_chars = row_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as i32;
    let left = 36 + label_chars * 7 + 12;
    let top = 48;
    let (bottom, legend) = (64, 110);
    // Wide enough for the title whatever the number of classes.
    let width = (left + cell * k + legend).max(470) as u32;
    let height = (top + cell * k + bottom) as u32;
    let black = RGBColor(34, 34, 34);
    svg(width, height, "confusion matrix", |root| {
        root.draw_text(
            "Confusion matrix (colour: share of the true class's rows)",
            &text_style(18.0, black, HPos::Left, VPos::Top),
            (12, 12),
        )?;
        let count_size = (f64::from(cell) * 0.32).clamp(11.0, 18.0);
        for (t, row) in cm.matrix.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let share = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let (x0, y0) = (left + p as i32 * cell, top + t as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    heat(share).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    RGBColor(215, 215, 215).stroke_width(1),
                ))?;
                let ink = if share > 0.55 { WHITE } else { black };
                let (cx, cy) = (x0 + cell / 2, y0 + cell / 2);
                if cell >= 48 {
                    root.draw_text(
                        &count.to_string(),
                        &text_style(count_size, ink, HPos::Center, VPos::Bottom),
                        (cx, cy + 2),
                    )?;
                    root.draw_text(
                        &percent(share),
                        &text_style(count_size * 0.75, ink, HPos::Center, VPos::Top),
                        (cx, cy + 4),
                    )?;
                } else {
                    root.draw_text(
                        &count.to_string(),
                        &text_style(count_size, ink, HPos::Center, VPos::Center),
                        (cx, cy),
                    )?;
                }
            }
        }
        for (i, label) in row_labels.iter().enumerate() {
            let middle = top + i as i32 * cell + cell / 2;
            root.draw_text(
                label,
                &text_style(14.0, black, HPos::Right, VPos::Center),
                (left - 8, middle),
            )?;
            let centre = left + i as i32 * cell + cell / 2;
            let column_label = if numbered {
                (i + 1).to_string()
            } else {
                label.clone()
            };
            root.draw_text(
                &column_label,
                &text_style(14.0, black, HPos::Center, VPos::Top),
                (centre, top + k * cell + 8),
            )?;
        }
        root.draw_text(
            if numbered {
                "predicted class (numbered as the rows)"
            } else {
                "predicted class"
            },
            &text_style(15.0, black, HPos::Center, VPos::Top),
            (left + k * cell / 2, top + k * cell + 34),
        )?;
        root.draw_text(
            "true class",
            &text_style(15.0, black, HPos::Center, VPos::Center)
                .transform(FontTransform::Rotate270),
            (16, top + k * cell / 2),
        )?;
        // Colour scale: 100% at the top, 0% at the bottom.
        let (bar_x, bar_h) = (left + k * cell + 24, (k * cell).min(240));
        let steps = 20;
        for s in 0..steps {
            let y0 = top + bar_h * s / steps;
            let y1 = top + bar_h * (s + 1) / steps;
            let share = 1.0 - (f64::from(s) + 0.5) / f64::from(steps);
            root.draw(&Rectangle::new(
                [(bar_x, y0), (bar_x + 16, y1)],
                heat(share).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(bar_x, top), (bar_x + 16, top + bar_h)],
            RGBColor(180, 180, 180).stroke_width(1),
        ))?;
        let small = text_style(12.0, black, HPos::Left, VPos::Center);
        root.draw_text("100%", &small, (bar_x + 22, top))?;
        root.draw_text("50%", &small, (bar_x + 22, top + bar_h / 2))?;
        root.draw_text("0%", &small, (bar_x + 22, top + bar_h))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_never_round_to_0_or_100_percent() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.004), "<1%");
        assert_eq!(percent(0.996), ">99%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.426), "43%");
    }

    #[test]
    fn confusion_matrix_svg_holds_every_count() {
        let cm = LabeledConfusionMatrix {
            labels: vec!["no".into(), "yes".into()],
            matrix: vec![vec![1925, 8], vec![42, 25]],
        };
        let svg = confusion_chart(&cm).unwrap();
        // Text is escaped in SVG: ">99%" is "&gt;99%".
        for count in ["1925", "8", "42", "25", "&gt;99%", "&lt;1%", "63%", "37%"] {
            assert!(svg.contains(&format!(">\n{count}\n</text>")), "{count}");
        }
    }
}
