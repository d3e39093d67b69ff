//! Words of free text, shared by the offline labels and the offline embedder.

/// Words too common to say what a text is about.
pub const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "assistant",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "even", "every", "few", "for", "from", "further", "get", "give", "had",
    "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if",
    "in", "into", "is", "it", "its", "itself", "just", "let", "like", "make", "many", "may", "me", "might", "more", "most",
    "much", "must", "my", "myself", "need", "new", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only",
    "or", "other", "our", "ours", "ourselves", "out", "over", "own", "please", "said", "same", "say", "says", "she",
    "should", "so", "some", "such", "system", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "two", "under", "until", "up", "us", "use", "user",
    "using", "very", "want", "was", "way", "we", "well", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "yes", "you", "your", "yours", "yourself", "yourselves", "tool", "call", "image",
    "don", "doesn", "didn", "isn", "aren", "wasn", "won", "can't", "it's", "i'm", "i've", "you're", "that's", "there's",
    "thing", "things", "something", "know", "want", "used", "write", "help", "also", "another", "still", "take", "tell",
    "will", "year", "years", "people", "time", "first", "last", "three",
];

/// Lower-cased words of at least 3 characters that are not all digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_numeric()))
}
