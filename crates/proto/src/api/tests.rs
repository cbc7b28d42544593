use super::*;
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    Fields::from_json(v.to_string().as_bytes()).unwrap()
}

#[test]
fn endpoints_round_trip_through_their_names() {
    for e in Endpoint::ALL {
        assert_eq!(e.as_str().parse::<Endpoint>().unwrap(), e);
    }
    assert!("drop_tables".parse::<Endpoint>().is_err());
}

#[test]
fn a_request_serializes_to_what_it_parses_from() {
    let req = AddPusher {
        room_id: "room_1".into(),
        user_id: "user_1".into(),
        user_name: "Ann".into(),
        user_avatar: "a.png".into(),
        push_url: "rtmp://x/live/s".into(),
        sharing_screen: true,
    };
    let back = AddPusher::from_fields(&Fields::from_serialize(&req)).unwrap();
    assert_eq!(back, req);
    assert_eq!(back.acting_user(), Some("user_1"));
}

#[test]
fn the_first_missing_field_is_named() {
    let e = CreateRoom::from_fields(&fields(
        json!({"roomName": "r", "userID": "", "userName": "n"}),
    ));
    assert_eq!(e, Err(FieldsError::Missing("userID")));
    let e = DeletePusher::from_fields(&fields(json!({"roomID": 3, "userID": "u"})));
    assert_eq!(e, Err(FieldsError::Missing("roomID")));
}

#[test]
fn fields_over_their_limits_are_refused_by_name() {
    let long = "n".repeat(crate::limits::MAX_USER_NAME_CHARS + 1);
    let e = AddPusher::from_fields(&fields(json!({"roomID": "r", "userID": "u",
        "userName": long, "userAvatar": "a.png", "pushURL": "rtmp://x/live/s"})));
    assert!(
        matches!(
            e,
            Err(FieldsError::TooLong {
                field: "userName",
                ..
            })
        ),
        "{e:?}"
    );
    let e = CreateRoom::from_fields(&fields(json!({"roomName": "a\u{0}b", "userID": "u",
        "userName": "n", "userAvatar": "a.png", "pushURL": "rtmp://x/live/s"})));
    assert!(
        matches!(
            e,
            Err(FieldsError::ForbiddenChar {
                field: "roomName",
                c: '\0'
            })
        ),
        "{e:?}"
    );
    let e = GetPushers::from_fields(&fields(json!({"roomID": "r".repeat(129)})));
    assert!(
        matches!(
            e,
            Err(FieldsError::TooLong {
                field: "roomID",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn room_lists_without_a_total_parse() {
    let l: RoomList = serde_json::from_value(json!({"rooms": []})).unwrap();
    assert_eq!(l.total, None);
}

#[test]
fn text_message_accepts_both_head_pic_spellings() {
    let m = SendRoomTextMsg::from_fields(&fields(
        json!({"roomID": "r", "userID": "u", "msg": "hi", "headpic": "p.png"}),
    ))
    .unwrap();
    assert_eq!(m.head_pic.as_deref(), Some("p.png"));
}

#[test]
fn v1_pushers_without_extensions_parse() {
    let p: Pushers = serde_json::from_value(json!({"pushers": [{"userID": "u", "userName": "n", "userAvatar": "a", "accelerateURL": "rtmp://x"}]})).unwrap();
    assert_eq!(p.pushers.len(), 1);
    assert_eq!(p.room_creator, None);
}

#[test]
fn hand_over_is_announced_and_answers_the_new_creator_or_nothing() {
    let login: LoginInfo = serde_json::from_value(json!({
        "userID": "u", "sdkAppID": 1, "accType": "a", "userSig": "s",
        "extensions": ["hand_over_room"]
    }))
    .unwrap();
    assert!(login.offers(EXT_HAND_OVER));
    // An original v1 login answer has no list, and offers nothing.
    let v1: LoginInfo = serde_json::from_value(
        json!({"userID": "u", "sdkAppID": 1, "accType": "a", "userSig": "s"}),
    )
    .unwrap();
    assert!(!v1.offers(EXT_HAND_OVER));
    assert!(!serde_json::to_string(&v1).unwrap().contains("extensions"));

    let r = HandOverRoom::from_fields(&fields(json!({"roomID": "r", "userID": "u"}))).unwrap();
    assert_eq!(r.acting_user(), Some("u"));
    assert!(Endpoint::HandOverRoom.needs_nonce() && Endpoint::HandOverRoom.is_mutating());
    let closed: HandedOver = serde_json::from_value(json!({"code": 0})).unwrap();
    assert_eq!(closed.room_creator, None);
}

#[test]
fn a_push_url_may_name_its_room_bounded_like_any_id() {
    let v1 = GetPushUrl::from_fields(&fields(json!({"userID": "u"}))).unwrap();
    assert_eq!(v1.room_id, None, "v1 clients name no room");
    let ext = GetPushUrl::from_fields(&fields(json!({"userID": "u", "roomID": "r1"}))).unwrap();
    assert_eq!(ext.room_id.as_deref(), Some("r1"));
    let long = "r".repeat(crate::limits::MAX_ID_BYTES + 1);
    let refused = GetPushUrl::from_fields(&fields(json!({"userID": "u", "roomID": long})));
    assert!(refused.is_err(), "{refused:?}");
    let body = serde_json::to_value(&v1).unwrap();
    assert_eq!(
        body,
        json!({"userID": "u"}),
        "nothing new is sent to a v1 server"
    );
}
