//! Element-wise passes over whole activation matrices (residual sums, ReLU), split over
//! the current pool's threads. Each element is computed by one thread from the same
//! operands, so the values do not depend on the thread count.

use crate::parallel::{for_each_row_part, SharedMut};

/// Call `f(range, &mut out[range])` on consecutive ranges covering `out`, split over the
/// pool's threads when the parts are big enough to pay for the join.
fn for_each_range(out: &mut [f32], f: &(dyn Fn(std::ops::Range<usize>, &mut [f32]) + Sync)) {
    let len = out.len();
    let shared = SharedMut::new(out);
    for_each_row_part(len, 1, &|range| {
        // SAFETY: the parts do not overlap.
        let out = unsafe { shared.range(range.clone()) };
        f(range, out)
    });
}

/// out = a + b.
pub(crate) fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == out.len() && b.len() == out.len(),
        "operands of one size"
    );
    for_each_range(out, &|r, out| {
        for ((o, &a), &b) in out.iter_mut().zip(&a[r.clone()]).zip(&b[r]) {
            *o = a + b;
        }
    });
}

/// a += b.
pub(crate) fn add_assign(a: &mut [f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "operands of one size");
    for_each_range(a, &|r, a| {
        a.iter_mut().zip(&b[r]).for_each(|(a, &b)| *a += b);
    });
}

/// out = max(z, 0).
pub(crate) fn relu(z: &[f32], out: &mut [f32]) {
    assert_eq!(z.len(), out.len(), "operands of one size");
    for_each_range(out, &|r, out| {
        out.iter_mut()
            .zip(&z[r])
            .for_each(|(h, &z)| *h = z.max(0.0));
    });
}

/// grad = d loss / d ReLU input: `upstream` where the ReLU's output `h` is positive, else 0.
pub(crate) fn relu_backward(h: &[f32], upstream: &[f32], grad: &mut [f32]) {
    assert!(
        h.len() == grad.len() && upstream.len() == grad.len(),
        "operands of one size"
    );
    for_each_range(grad, &|r, grad| {
        let pairs = h[r.clone()].iter().zip(&upstream[r]);
        for (g, (&h, &dh)) in grad.iter_mut().zip(pairs) {
            *g = if h > 0.0 { dh } else { 0.0 };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::install;

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let n = 70_001;
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let run = |threads: usize| {
            let _pool = install(threads);
            let (mut sum, mut acc, mut h, mut g) =
                (vec![0.0; n], a.clone(), vec![0.0; n], vec![0.0; n]);
            add(&a, &b, &mut sum);
            add_assign(&mut acc, &b);
            relu(&a, &mut h);
            relu_backward(&h, &b, &mut g);
            (sum, acc, h, g)
        };
        let (sum, acc, h, g) = run(2);
        assert_eq!((sum.clone(), acc.clone(), h.clone(), g.clone()), run(1));
        assert!(sum
            .iter()
            .zip(a.iter().zip(&b))
            .all(|(&s, (&a, &b))| s == a + b));
        assert_eq!(sum, acc);
        assert!(h.iter().zip(&a).all(|(&h, &a)| h == a.max(0.0)));
        assert!(g
            .iter()
            .zip(h.iter().zip(&b))
            .all(|(&g, (&h, &b))| g == if h > 0.0 { b } else { 0.0 }));
    }
}
