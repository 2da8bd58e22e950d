//! Secret values never leave the delegate in what it reports: every occurrence in a
//! script's output or an HTTP answer is replaced before the result is sent.

/// The replacement of a secret's value.
pub const MASK: &str = "***";

/// Replace every secret value in `output` by [`MASK`]; when the output was cut, also
/// a tail that could be the start of a secret (the rest of it was cut off).
pub fn mask<'a>(
    output: &str,
    secrets: impl Iterator<Item = &'a String> + Clone,
    truncated: bool,
) -> String {
    let mut masked = output.to_owned();
    for secret in secrets.clone().filter(|secret| !secret.is_empty()) {
        masked = masked.replace(secret.as_str(), MASK);
    }
    if truncated {
        for secret in secrets.filter(|secret| !secret.is_empty()) {
            let cut = (1..secret.len()).rev().find(|length| {
                secret
                    .get(..*length)
                    .is_some_and(|head| masked.ends_with(head))
            });
            if let Some(length) = cut {
                masked.truncate(masked.len() - length);
                masked.push_str(MASK);
            }
        }
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_replaces_every_occurrence_and_a_cut_tail() {
        let secrets = ["hunter22".to_owned(), "tok".to_owned()];
        assert_eq!(
            mask("a hunter22 b hunter22 tok", secrets.iter(), false),
            "a *** b *** ***"
        );
        assert_eq!(
            mask("password: hunt", secrets.iter(), true),
            "password: ***"
        );
        assert_eq!(
            mask("password: hunt", secrets.iter(), false),
            "password: hunt"
        );
    }
}
