//! The flags that declare date, text and series columns and tune the tokenizer
//! (`KindArgs`, shared by `train`, `cv` and `preprocess`), and the library's
//! `KindOptions` they become.

use clap::Args;

use super::common::parse_positive_usize;
use csvnn::preprocess::{
    DateFormatOption, KindOptions, SequenceShape, TextOptions, DEFAULT_NGRAM_BUCKETS,
};

/// Date, text and series columns, and how text is tokenised.
#[derive(Debug, Clone, Args)]
pub struct KindArgs {
    /// Date columns (ISO 8601 dates or date-times; string columns whose values all are
    /// such dates are detected as dates without it), encoded as the year and sine/cosine
    /// pairs of month, weekday, day of year and hour.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub date: Vec<String>,

    /// A date column and its strftime-style format (%Y %y %m %b %B %d %e %H %I %p %M %S
    /// %f %z %T %F %%), e.g. 'day=%d/%m/%Y'; repeat for more columns.
    #[arg(long, value_name = "COL=FMT")]
    pub date_format: Vec<DateFormatOption>,

    /// Text columns, tokenised into word ids (string columns of mostly distinct values of
    /// several words are detected as text without it; --categorical overrides).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub text: Vec<String>,

    /// Most tokens per text cell (words, then n-grams); the rest is cut.
    #[arg(long, value_name = "N", default_value_t = 200, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub max_tokens: usize,

    /// Fewest training occurrences of a word in the vocabulary.
    #[arg(long, value_name = "N", default_value_t = 2, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub min_count: usize,

    /// Most words in the vocabulary (the most frequent; ties by the word).
    #[arg(long, value_name = "N", default_value_t = 30_000, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub vocab_size: usize,

    /// Longest word n-gram added to the words as a hashed id (fastText's trick); 1 adds
    /// none.
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub ngrams: usize,

    /// Hash buckets of the word n-grams.
    #[arg(long, value_name = "B", default_value_t = DEFAULT_NGRAM_BUCKETS, allow_negative_numbers = true, value_parser = parse_positive_usize)]
    pub ngram_buckets: usize,

    /// The feature columns (every column but the target and the dropped ones), in file
    /// order, are one series of STEPS steps of CHANNELS values, time-major with the channel
    /// fastest; trailing empty cells are padding (a shorter series).
    #[arg(long, value_name = "STEPSxCHANNELS")]
    pub sequence_shape: Option<SequenceShape>,
}

impl KindArgs {
    /// The library's options for these flags.
    pub fn to_options(&self) -> KindOptions {
        KindOptions {
            date: self.date.clone(),
            date_formats: self.date_format.clone(),
            text: self.text.clone(),
            text_options: TextOptions {
                max_tokens: self.max_tokens,
                min_count: self.min_count,
                vocab_size: self.vocab_size,
                ngrams: self.ngrams,
                ngram_buckets: self.ngram_buckets,
            },
            sequence_shape: self.sequence_shape,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        kinds: KindArgs,
    }

    #[test]
    fn the_flags_defaults_are_the_librarys() {
        let parsed = Wrapper::parse_from(["csvnn"]);
        assert_eq!(parsed.kinds.to_options(), KindOptions::default());
    }
}
