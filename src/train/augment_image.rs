//! The image transforms of augmentation on one row: `src` and `dst` are images of `shape`
//! (row-major, channel fastest, as `--image-shape` reads the columns); `fill[i]` is the
//! value that input `i` takes for a pixel from outside the image: what a zero pixel
//! standardises to.

use crate::nn::ImageShape;

/// The index of pixel (y, x), channel c.
fn at(shape: ImageShape, y: usize, x: usize, c: usize) -> usize {
    (y * shape.width + x) * shape.channels + c
}

/// `dst` = `src` moved `dy` pixels down and `dx` right; uncovered pixels take `fill`.
pub(crate) fn shift(
    src: &[f32],
    dst: &mut [f32],
    shape: ImageShape,
    dy: isize,
    dx: isize,
    fill: &[f32],
) {
    for y in 0..shape.height {
        let sy = y as isize - dy;
        for x in 0..shape.width {
            let sx = x as isize - dx;
            let inside =
                (0..shape.height as isize).contains(&sy) && (0..shape.width as isize).contains(&sx);
            for c in 0..shape.channels {
                let i = at(shape, y, x, c);
                dst[i] = if inside {
                    src[at(shape, sy as usize, sx as usize, c)]
                } else {
                    fill[i]
                };
            }
        }
    }
}

/// `dst` = `src` mirrored left to right.
pub(crate) fn flip(src: &[f32], dst: &mut [f32], shape: ImageShape) {
    for y in 0..shape.height {
        for x in 0..shape.width {
            let mirror = shape.width - 1 - x;
            for c in 0..shape.channels {
                dst[at(shape, y, x, c)] = src[at(shape, y, mirror, c)];
            }
        }
    }
}

/// `dst` = `src` rotated by `degrees` about the image centre (counter-clockwise as
/// displayed, rows running down), sampled bilinearly; samples from outside the image take
/// the destination pixel's `fill`.
pub(crate) fn rotate(src: &[f32], dst: &mut [f32], shape: ImageShape, degrees: f32, fill: &[f32]) {
    let (sin, cos) = (degrees as f64).to_radians().sin_cos();
    let cy = (shape.height as f64 - 1.0) / 2.0;
    let cx = (shape.width as f64 - 1.0) / 2.0;
    let (h, w) = (shape.height as isize, shape.width as isize);
    for y in 0..shape.height {
        for x in 0..shape.width {
            // The source of (y, x): the inverse rotation of its offset from the centre.
            let (oy, ox) = (y as f64 - cy, x as f64 - cx);
            let sy = cy + cos * oy + sin * ox;
            let sx = cx - sin * oy + cos * ox;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (fy, fx) = (sy - y0, sx - x0);
            let (y0, x0) = (y0 as isize, x0 as isize);
            for c in 0..shape.channels {
                let i = at(shape, y, x, c);
                let sample = |yy: isize, xx: isize| -> f64 {
                    if (0..h).contains(&yy) && (0..w).contains(&xx) {
                        src[at(shape, yy as usize, xx as usize, c)] as f64
                    } else {
                        fill[i] as f64
                    }
                };
                let top = sample(y0, x0) * (1.0 - fx) + sample(y0, x0 + 1) * fx;
                let bottom = sample(y0 + 1, x0) * (1.0 - fx) + sample(y0 + 1, x0 + 1) * fx;
                dst[i] = (top * (1.0 - fy) + bottom * fy) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x4 image with 2 channels whose values are distinct.
    fn image(shape: ImageShape) -> Vec<f32> {
        (0..shape.len()).map(|i| i as f32 + 1.0).collect()
    }

    #[test]
    fn shift_moves_a_known_pixel_and_fills_the_border() {
        let shape = ImageShape::new(3, 4, 2);
        let mut src = vec![0.0; shape.len()];
        src[at(shape, 1, 1, 1)] = 5.0;
        let fill = vec![-0.5; shape.len()];
        let mut dst = vec![0.0; shape.len()];
        shift(&src, &mut dst, shape, 1, 2, &fill);
        assert_eq!(dst[at(shape, 2, 3, 1)], 5.0);
        // Row 0 and columns 0, 1 came from outside the image.
        for x in 0..4 {
            assert_eq!(dst[at(shape, 0, x, 0)], -0.5);
        }
        assert_eq!(dst[at(shape, 2, 1, 1)], -0.5);
        assert_eq!(dst[at(shape, 1, 2, 0)], 0.0);
        assert_eq!(dst.iter().filter(|&&v| v == 5.0).count(), 1);
        shift(&src, &mut dst, shape, -1, -1, &fill);
        assert_eq!(dst[at(shape, 0, 0, 1)], 5.0);
    }

    #[test]
    fn flip_mirrors_each_row_and_twice_is_the_identity() {
        let shape = ImageShape::new(3, 4, 2);
        let src = image(shape);
        let mut dst = vec![0.0; shape.len()];
        flip(&src, &mut dst, shape);
        assert_eq!(dst[at(shape, 0, 0, 0)], src[at(shape, 0, 3, 0)]);
        assert_eq!(dst[at(shape, 2, 1, 1)], src[at(shape, 2, 2, 1)]);
        let mut back = vec![0.0; shape.len()];
        flip(&dst, &mut back, shape);
        assert_eq!(back, src);
    }

    #[test]
    fn rotating_a_square_by_90_degrees_is_a_transpose_and_a_flip() {
        let shape = ImageShape::new(5, 5, 2);
        let src = image(shape);
        let fill = vec![0.0; shape.len()];
        let mut dst = vec![0.0; shape.len()];
        rotate(&src, &mut dst, shape, 90.0, &fill);
        // Counter-clockwise as displayed: the top row becomes the left column, bottom up.
        for y in 0..5 {
            for x in 0..5 {
                for c in 0..2 {
                    let want = src[at(shape, x, 4 - y, c)];
                    let got = dst[at(shape, y, x, c)];
                    assert!(
                        (got - want).abs() < 1e-4,
                        "({y}, {x}, {c}): {got} vs {want}"
                    );
                }
            }
        }
        // 0 degrees is the identity; the corners of an image rotated by 45 degrees come
        // from outside it and take the fill, the centre stays.
        rotate(&src, &mut dst, shape, 0.0, &fill);
        assert_eq!(dst, src);
        let shape = ImageShape::new(9, 9, 1);
        let (src, fill) = (image(shape), vec![-7.0; shape.len()]);
        let mut dst = vec![0.0; shape.len()];
        rotate(&src, &mut dst, shape, 45.0, &fill);
        assert_eq!(dst[at(shape, 0, 0, 0)], -7.0);
        assert_eq!(dst[at(shape, 8, 8, 0)], -7.0);
        let centre = at(shape, 4, 4, 0);
        assert!((dst[centre] - src[centre]).abs() < 1e-4);
    }
}
