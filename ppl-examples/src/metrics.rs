//! Classifier metrics from predictive probabilities: accuracy, confusion matrix, and the
//! predictive entropy of correct and wrong predictions.

/// What a probabilistic classifier achieved on labelled rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierMetrics {
    /// Fraction of rows whose most probable class is the label.
    pub accuracy: f64,
    /// `confusion[truth][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Mean predictive entropy (nats) over correctly classified rows.
    pub entropy_correct: f64,
    /// Mean predictive entropy (nats) over misclassified rows (NaN when there are none).
    pub entropy_wrong: f64,
    /// The predicted class of each row.
    pub predictions: Vec<usize>,
    /// The predictive entropy of each row.
    pub entropies: Vec<f64>,
}

impl ClassifierMetrics {
    /// From row-major probabilities `[n, classes]` and the `n` labels.
    ///
    /// # Panics
    /// When the sizes disagree or a label is out of range (a programming error).
    pub fn from_probs(probs: &[f64], classes: usize, labels: &[usize]) -> Self {
        let n = labels.len();
        assert_eq!(
            probs.len(),
            n * classes,
            "probabilities for {n} rows of {classes} classes"
        );
        let mut confusion = vec![vec![0usize; classes]; classes];
        let (mut h_ok, mut n_ok, mut h_bad, mut n_bad) = (0.0, 0usize, 0.0, 0usize);
        let (mut predictions, mut entropies) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (row, &truth) in probs.chunks(classes).zip(labels) {
            let pred = (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("at least one class");
            confusion[truth][pred] += 1;
            let h: f64 = row.iter().filter(|p| **p > 0.0).map(|p| -p * p.ln()).sum();
            if pred == truth {
                h_ok += h;
                n_ok += 1;
            } else {
                h_bad += h;
                n_bad += 1;
            }
            predictions.push(pred);
            entropies.push(h);
        }
        ClassifierMetrics {
            accuracy: n_ok as f64 / n.max(1) as f64,
            confusion,
            entropy_correct: h_ok / n_ok.max(1) as f64,
            entropy_wrong: if n_bad > 0 { h_bad / n_bad as f64 } else { f64::NAN },
            predictions,
            entropies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClassifierMetrics;

    #[test]
    fn counts_and_entropies_by_hand() {
        // Row 0: sure and right; row 1: unsure and wrong (truth 0, predicted 1).
        let m = ClassifierMetrics::from_probs(&[0.0, 1.0, 0.4, 0.6], 2, &[1, 0]);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.confusion, vec![vec![0, 1], vec![0, 1]]);
        assert_eq!(m.entropy_correct, 0.0);
        let h = -(0.4f64 * 0.4f64.ln() + 0.6 * 0.6f64.ln());
        assert!((m.entropy_wrong - h).abs() < 1e-15);
    }
}
