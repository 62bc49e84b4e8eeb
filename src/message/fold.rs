//! Folding what a visitor types (case, accents) so a language or channel name matches however
//! it was typed; shared by the locale and the kiosk texts, which otherwise need nothing of each other.

/// Lower case without the accents of the languages otpd ships, so a visitor can type
/// "francais" for "Français" on a keyboard without them.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            c => c,
        })
        .collect()
}
