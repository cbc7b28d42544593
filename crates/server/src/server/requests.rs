//! What each room API request does, once its fields are read and its caller admitted.

use quartet_proto::event::TextHead;
use quartet_proto::{
    AddPusher, CreateRoom, CreatedRoom, EXT_HAND_OVER, EXT_ROOM_RELAY, Endpoint, Fields,
    GetImLoginInfo, GetPushUrl, GetPushers, GetRoomList, LoginInfo, MAX_ROOM_LIST_CNT, MergeStream,
    PushUrl, Pusher, PusherHeartbeat, Pushers, Reply, RoomInfo, RoomKind, RoomList,
    SendRoomTextMsg, ServerEvent, TOKEN_HEADER,
};
use tokio::time::Instant;

use super::admit::Claim;
use super::{MAX_TEXT_BYTES, Refusal, RoomView, Server, millis, unix_now};
use crate::rooms::{NewRoom, Profile, RoomChange};
use crate::store::RoomRelay;

impl Server {
    /// Answers one call to `endpoint` of `kind`; `token` is the caller's `userSig`, if any.
    pub(crate) async fn handle(
        &self,
        kind: RoomKind,
        endpoint: Endpoint,
        fields: &Fields,
        token: Option<&str>,
    ) -> Reply {
        let answer = match endpoint {
            Endpoint::GetImLoginInfo => self.accept(fields, token).map(|r| self.login(r)),
            Endpoint::GetPushUrl => self
                .accept(fields, token)
                .and_then(|r| self.push_url(kind, r)),
            Endpoint::CreateRoom => self
                .accept(fields, token)
                .and_then(|r| self.create_room(kind, r)),
            Endpoint::DestroyRoom => self
                .accept(fields, token)
                .and_then(|r| self.destroy_room(kind, r)),
            Endpoint::AddPusher => self
                .accept(fields, token)
                .and_then(|r| self.add_pusher(kind, r)),
            Endpoint::DeletePusher => self
                .accept(fields, token)
                .and_then(|r| self.delete_pusher(kind, r)),
            // The hot path: polls and heartbeats wait on a shared store without holding a thread.
            Endpoint::GetPushers => match self.accept(fields, token) {
                Ok(r) => self.get_pushers(kind, r).await,
                Err(refusal) => Err(refusal),
            },
            Endpoint::PusherHeartbeat => match self.accept_unclaimed(fields, token) {
                Ok((r, claim)) => self.heartbeat(kind, r, claim.as_ref()).await,
                Err(refusal) => Err(refusal),
            },
            Endpoint::GetRoomList => self
                .accept(fields, token)
                .and_then(|r| self.get_room_list(kind, r)),
            Endpoint::MergeStream => self
                .accept::<MergeStream>(fields, token)
                .and(Err(Refusal::MergeNotSupported)),
            Endpoint::SendRoomTextMsg => self
                .accept(fields, token)
                .and_then(|r| self.send_text(kind, r)),
            Endpoint::HandOverRoom => self
                .accept(fields, token)
                .and_then(|r| self.hand_over_room(kind, r)),
        };
        answer.unwrap_or_else(|refusal| {
            tracing::debug!(%kind, %endpoint, code = refusal.code().as_i64(), %refusal, "request refused");
            refusal.into_reply()
        })
    }

    fn url_expiry(&self) -> u64 {
        unix_now()
            .saturating_add(self.inner.config.url_valid)
            .as_secs()
    }

    /// Where `room`'s streams are played from: its relay, or the server's one.
    fn play_base<'a>(&'a self, room: &'a RoomView) -> &'a str {
        room.relay
            .as_ref()
            .map_or(self.inner.config.play_base(), |r| r.play_base.as_str())
    }

    fn mixed_play_url(&self, room: &RoomView, expiry: u64) -> String {
        let creator = &room.creator;
        let Some(base) = &self.inner.config.flv_base else {
            // A play URL is signed under the play key, so it can never publish.
            return self
                .inner
                .signer
                .play_url(self.play_base(room), creator, expiry);
        };
        let stream = self.inner.signer.stream_id(creator);
        let signed = self.inner.signer.signed_play_stream(&stream, expiry);
        let query = signed.split_once('?').map_or("", |(_, q)| q);
        format!("{}/{stream}.flv?{query}", base.trim_end_matches('/'))
    }

    fn pushers(&self, room: &RoomView, expiry: u64) -> Vec<Pusher> {
        let play_base = self.play_base(room);
        room.members
            .iter()
            .map(|m| Pusher {
                user_id: m.user_id.clone(),
                user_name: m.user_name.clone(),
                user_avatar: m.user_avatar.clone(),
                accelerate_url: self.inner.signer.play_url(play_base, &m.user_id, expiry),
                small_accelerate_url: self.inner.config.small_streams.then(|| {
                    self.inner
                        .signer
                        .small_play_url(play_base, &m.user_id, expiry)
                }),
                sharing_screen: m.sharing_screen,
            })
            .collect()
    }

    fn login(&self, _request: GetImLoginInfo) -> Reply {
        let now = unix_now();
        let user_id = self.inner.ids.user_id(self.id_millis());
        let expiry = now.saturating_add(self.inner.config.token_valid).as_secs();
        // With IM, the IM sig is the token too: clients hold one credential, as in v1.
        let im = self.im_login(&user_id, expiry);
        let user_sig = im
            .user_sig
            .unwrap_or_else(|| self.inner.tokens.issue(&user_id, expiry));
        tracing::debug!(user = %user_id, "user logged in");
        Reply::ok(&LoginInfo {
            user_id,
            sdk_app_id: im.sdk_app_id,
            acc_type: im.acc_type,
            user_sig,
            token_header: Some(TOKEN_HEADER.to_owned()),
            extensions: [
                self.inner.config.hand_over.then_some(EXT_HAND_OVER),
                self.notes_url().map(|_| EXT_ROOM_RELAY),
            ]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect(),
        })
    }

    fn push_url(&self, kind: RoomKind, request: GetPushUrl) -> Result<Reply, Refusal> {
        let relay = match &request.room_id {
            Some(room_id) => {
                self.sync(room_id)?;
                self.registry().room(kind, room_id)?.relay.clone()
            }
            None => None,
        };
        let base = relay.map_or_else(|| self.inner.config.rtmp_base.clone(), |r| r.rtmp_base);
        let (base, expiry) = (&base, self.url_expiry());
        let signer = &self.inner.signer;
        Ok(Reply::ok(&PushUrl {
            push_url: signer.url(base, &request.user_id, expiry),
            small_push_url: self
                .inner
                .config
                .small_streams
                .then(|| signer.small_url(base, &request.user_id, expiry)),
        }))
    }

    fn create_room(&self, kind: RoomKind, r: CreateRoom) -> Result<Reply, Refusal> {
        let room_id = self.inner.ids.room_id(self.id_millis());
        let creator = Profile {
            user_id: r.user_id,
            user_name: r.user_name,
            user_avatar: r.user_avatar,
            push_url: r.push_url,
            sharing_screen: false,
        };
        let room = NewRoom {
            kind,
            id: room_id.clone(),
            name: r.room_name,
            capacity: self.inner.config.capacity.get(kind),
            // With several servers, each maybe with its own relay, the room's streams stay on
            // the creating server's.
            relay: self.notes_url().map(|_| RoomRelay {
                rtmp_base: self.inner.config.rtmp_base.clone(),
                play_base: self.inner.config.play_base().to_owned(),
            }),
        };
        let now = self.now();
        let mut registry = self.registry();
        Self::check_rooms_held(&registry, &creator.user_id)?;
        self.admit_creation(&creator.user_id, now.at)?;
        registry.create(
            room,
            creator,
            self.inner.config.max_rooms,
            now,
            self.store(),
        )?;
        Ok(Reply::ok(&CreatedRoom { room_id }))
    }

    fn add_pusher(&self, kind: RoomKind, r: AddPusher) -> Result<Reply, Refusal> {
        let profile = Profile {
            user_id: r.user_id,
            user_name: r.user_name,
            user_avatar: r.user_avatar,
            push_url: r.push_url,
            sharing_screen: r.sharing_screen,
        };
        let user_id = profile.user_id.clone();
        self.changing(&r.room_id, |registry| {
            if registry.member(kind, &r.room_id, &profile.user_id).is_err() {
                Self::check_rooms_held(registry, &profile.user_id)?;
            }
            Ok(registry.add(kind, &r.room_id, profile.clone(), self.now(), self.store())?)
        })?;
        self.tell_heard(&r.room_id, &user_id);
        Ok(Reply::ok_empty())
    }

    async fn get_pushers(&self, kind: RoomKind, r: GetPushers) -> Result<Reply, Refusal> {
        self.sync_async(&r.room_id).await?;
        let view = RoomView::from(self.registry().room(kind, &r.room_id)?);
        let expiry = self.url_expiry();
        Ok(Reply::ok(&Pushers {
            pushers: self.pushers(&view, expiry),
            mixed_play_url: Some(self.mixed_play_url(&view, expiry)),
            room_id: Some(view.id),
            room_name: Some(view.name),
            room_creator: Some(view.creator),
        }))
    }

    /// A heartbeat; `claim` is its nonce, which only a shared store has still to check.
    async fn heartbeat(
        &self,
        kind: RoomKind,
        PusherHeartbeat(r): PusherHeartbeat,
        claim: Option<&Claim>,
    ) -> Result<Reply, Refusal> {
        // Across servers first, so a heartbeat replayed to this server changes nothing here.
        let stored = self.beat_shared(&r.room_id, &r.user_id, claim).await?;
        let beat = || {
            self.registry()
                .heartbeat(kind, &r.room_id, &r.user_id, Instant::now())
        };
        // A member this copy does not know yet may have joined through another server; one
        // the store does not have may have left through another.
        if stored == Some(false) || beat().is_err() {
            self.sync_async(&r.room_id).await?;
            beat().map_err(|e| e.for_membership(&r.user_id))?;
        }
        Ok(Reply::ok_empty())
    }

    fn get_room_list(&self, kind: RoomKind, r: GetRoomList) -> Result<Reply, Refusal> {
        let cnt = r.cnt.min(MAX_ROOM_LIST_CNT);
        let shared = self.sync_page(kind, r.index, cnt)?;
        let (views, total) = {
            let registry = self.registry();
            match shared {
                Some((ids, total)) => (
                    ids.iter()
                        .filter_map(|id| registry.room(kind, id).ok())
                        .map(RoomView::from)
                        .collect::<Vec<_>>(),
                    total,
                ),
                None => (
                    registry
                        .list(kind, r.index, cnt)
                        .into_iter()
                        .map(RoomView::from)
                        .collect(),
                    registry.count(kind),
                ),
            }
        };
        let expiry = self.url_expiry();
        let rooms = views
            .into_iter()
            .map(|v| RoomInfo {
                mixed_play_url: self.mixed_play_url(&v, expiry),
                pushers: self.pushers(&v, expiry),
                max_members: Some(v.capacity),
                room_id: v.id,
                room_name: v.name,
                room_creator: v.creator,
            })
            .collect();
        Ok(Reply::ok(&RoomList {
            rooms,
            total: Some(total),
        }))
    }

    fn send_text(&self, kind: RoomKind, r: SendRoomTextMsg) -> Result<Reply, Refusal> {
        if r.msg.len() > MAX_TEXT_BYTES {
            return Err(Refusal::TextTooLong { len: r.msg.len() });
        }
        self.sync(&r.room_id)?;
        let registry = self.registry();
        let sender = registry.member(kind, &r.room_id, &r.user_id)?;
        // The stored profile, never the request's nickName/headPic: one member could show
        // another's name.
        let head = TextHead {
            nick_name: sender.user_name.clone(),
            head_pic: sender.user_avatar.clone(),
        };
        let event = ServerEvent::Text {
            data: head.clone(),
            user_id: r.user_id.clone(),
            text: r.msg.clone(),
            time: millis(unix_now()),
        };
        registry.broadcast(kind, &r.room_id, event.clone())?;
        drop(registry);
        self.tell_others(&r.room_id, &event);
        let registry = self.registry();
        registry.feed().tell(RoomChange::Text {
            room_id: r.room_id,
            user_id: r.user_id,
            head,
            text: r.msg,
        });
        Ok(Reply::ok_empty())
    }
}
