//! A line diff for a person: the longest common subsequence, small inputs only.

// Every index is bounded by the loops over `before`, `after` and the (n+1)×(m+1) table.
#[allow(clippy::indexing_slicing)]
/// `before` → `after` as lines prefixed `-` (removed), `+` (added) or ` ` (kept).
pub fn line_diff<S: AsRef<str>>(before: &[S], after: &[S]) -> Vec<String> {
    let (n, m) = (before.len(), after.len());
    // Documents and commands are small; beyond this, show a replacement instead of a diff.
    if n.saturating_mul(m) > 4_000_000 {
        let removed = before.iter().map(|l| format!("-{}", l.as_ref()));
        return removed
            .chain(after.iter().map(|l| format!("+{}", l.as_ref())))
            .collect();
    }
    let width = m + 1;
    let mut table = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let value = if before[i].as_ref() == after[j].as_ref() {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
            table[i * width + j] = value;
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(n + m));
    while i < n || j < m {
        if i < n && j < m && before[i].as_ref() == after[j].as_ref() {
            out.push(format!(" {}", before[i].as_ref()));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[i * width + j + 1] >= table[(i + 1) * width + j]) {
            out.push(format!("+{}", after[j].as_ref()));
            j += 1;
        } else {
            out.push(format!("-{}", before[i].as_ref()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_diff_keeps_common_lines() {
        assert_eq!(
            super::line_diff(&["a", "b", "c"], &["a", "x", "c", "d"]),
            [" a", "+x", "-b", " c", "+d"]
        );
    }
}
