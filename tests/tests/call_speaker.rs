//! The speaker in a call: one that is missing at join is a device error the member is told
//! about while the call's sound goes on; a member who asked for no speaker is told nothing; and
//! switching speakers mid-call never stops the others' sound.

use anyhow::Result;
use quartet_call::{AudioOutputChoice, CallError, CallEvent, DeviceKind};
use quartet_room::JoinTarget;
use quartet_tests::{
    AUDIBLE, Host, TestMember, eventually, init_tracing, leave_all, member_config,
};
use std::time::Duration;

/// How long the mix is watched after each switch.
const WATCH: Duration = Duration::from_millis(500);
/// How often it is looked at meanwhile.
const LOOK: Duration = Duration::from_millis(20);

fn speaker_errors(member: &TestMember) -> usize {
    member
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                CallEvent::DeviceError {
                    kind: DeviceKind::Speaker,
                    ..
                }
            )
        })
        .count()
}

/// The share of looks over [`WATCH`] at which `member` hears the others.
async fn heard_share(member: &TestMember) -> f64 {
    let looks = (WATCH.as_millis() / LOOK.as_millis()) as usize;
    let mut heard = 0;
    for _ in 0..looks {
        if member.call.stats().mix_level > AUDIBLE {
            heard += 1;
        }
        tokio::time::sleep(LOOK).await;
    }
    heard as f64 / looks as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_speaker_is_told_and_switching_keeps_the_sound() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let mut config = member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "speakers".into(),
        },
        "Ann",
    );
    config.output = AudioOutputChoice::Device("no such speaker".into());
    let ann = TestMember::start(config).await?;
    // Ben asked for no speaker at all (a bot): nothing to tell him.
    let ben = TestMember::start(member_config(
        &host.url,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
    ))
    .await?;

    let told = ann
        .event_since(0, "a speaker error", |e| {
            matches!(
                e,
                CallEvent::DeviceError {
                    kind: DeviceKind::Speaker,
                    ..
                }
            )
        })
        .await?;
    assert!(format!("{told:?}").contains("no such speaker"), "{told:?}");
    // Without the speaker, the others' sound is still mixed and consumed.
    eventually("Ann to hear Ben without a speaker", || {
        ann.call.stats().mix_level > AUDIBLE
    })
    .await?;

    for round in 0..3 {
        ann.call.switch_speaker(AudioOutputChoice::Null).await?;
        let share = heard_share(&ann).await;
        assert!(
            share > 0.9,
            "round {round}: Ben heard {share:.2} of the time"
        );
    }
    let missing = AudioOutputChoice::Device("another missing speaker".into());
    match ann.call.switch_speaker(missing).await {
        Err(CallError::Speaker(e)) => assert!(e.to_string().contains("another"), "{e}"),
        other => panic!("expected a speaker error, got {other:?}"),
    }
    let share = heard_share(&ann).await;
    assert!(share > 0.9, "after a failed switch: {share:.2}");

    assert_eq!(speaker_errors(&ben), 0);
    assert_eq!(
        speaker_errors(&ann),
        1,
        "a failed switch is an answer, not an event"
    );
    leave_all(vec![ann, ben]).await?;
    host.stop().await
}
