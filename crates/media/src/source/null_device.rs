//! The system's null audio device: ALSA offers a PCM that discards what is played and records
//! silence, described as "Discard all samples (playback) or generate zero samples (capture)".
//! It is no microphone or speaker a person would choose (the app has its own "no microphone"),
//! so the device lists leave it out.

use cpal::DeviceDescription;

/// ALSA's identifier of its null PCM.
pub const ALSA_NULL_PCM: &str = "null";
/// The description ALSA gives its null PCM, which cpal shows as the device's name.
pub const ALSA_NULL_DESCRIPTION: &str =
    "Discard all samples (playback) or generate zero samples (capture)";

/// Whether the device named `name`, of driver identifier `driver`, is the null device.
pub fn is_null_device(name: &str, driver: Option<&str>) -> bool {
    let null_pcm = driver.is_some_and(|d| {
        d == ALSA_NULL_PCM
            || d.strip_prefix(ALSA_NULL_PCM)
                .is_some_and(|rest| rest.starts_with(':'))
    });
    null_pcm || name.trim() == ALSA_NULL_DESCRIPTION
}

/// Whether `description` is the null device's.
pub fn is_null_description(description: &DeviceDescription) -> bool {
    is_null_device(description.name(), description.driver())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpal::DeviceDescriptionBuilder;

    #[test]
    fn the_alsa_null_pcm_is_recognised_by_its_id_or_description() {
        assert!(is_null_device(ALSA_NULL_DESCRIPTION, Some("null")));
        assert!(is_null_device(ALSA_NULL_DESCRIPTION, None));
        assert!(is_null_device("anything", Some("null")));
        assert!(is_null_device("anything", Some("null:CARD=x")));
        assert!(is_null_device(&format!(" {ALSA_NULL_DESCRIPTION}\n"), None));
    }

    #[test]
    fn real_devices_are_kept() {
        for (name, driver) in [
            (
                "Default ALSA Output (currently PulseAudio Sound Server)",
                Some("default"),
            ),
            ("HDA Intel PCH, ALC892 Analog", Some("hw:CARD=PCH,DEV=0")),
            ("USB Audio", Some("nullity")),
            ("Null microphone of a brand", None),
            ("MacBook Pro Microphone", None),
            ("", None),
        ] {
            assert!(!is_null_device(name, driver), "{name:?} {driver:?}");
        }
    }

    #[test]
    fn descriptions_as_cpal_builds_them() {
        let null = DeviceDescriptionBuilder::new(ALSA_NULL_DESCRIPTION)
            .driver("null")
            .build();
        assert!(is_null_description(&null));
        let real = DeviceDescriptionBuilder::new("HDA Intel PCH")
            .driver("hw:CARD=PCH,DEV=0")
            .build();
        assert!(!is_null_description(&real));
    }
}
