//! The v1 client the benchmark drives: one per server, all over one HTTP connection pool.

use anyhow::{Result, bail};
use quartet_proto::api::{self, Request};
use quartet_proto::{LoginInfo, PushUrl, Reply, RoomKind};
use std::sync::atomic::{AtomicU64, Ordering};

/// Makes each request's nonce unique; the server only needs it unique per user.
static NONCES: AtomicU64 = AtomicU64::new(0);

/// Members per room (the v1 capacity of multi_room).
pub const MEMBERS: usize = 4;
/// One operation in this many is a burst: create a room, three join, all leave.
pub const BURST_EVERY: u64 = 100;
/// Requests in one burst: a create, three joins, four leaves.
pub const BURST_REQUESTS: u64 = 1 + 3 + 4;

/// A logged-in user: ID, signature, push URL.
pub type User = (String, String, String);

/// A member of a room set up before measuring.
pub struct Member {
    pub user_id: String,
    pub sig: String,
    pub room_id: String,
}

/// Speaks the v1 API to one server.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub async fn call<R: Request>(&self, req: &R, sig: Option<&str>) -> Result<Reply> {
        let url = format!(
            "{}/weapp/{}/{}",
            self.base,
            RoomKind::MultiRoom,
            R::ENDPOINT
        );
        let mut body = serde_json::to_value(req)?;
        if R::ENDPOINT.is_mutating()
            && let Some(map) = body.as_object_mut()
        {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            let nonce = quartet_proto::nonce::make(
                now.as_millis() as u64,
                NONCES.fetch_add(1, Ordering::Relaxed),
            );
            map.insert(quartet_proto::nonce::NONCE_FIELD.into(), nonce.into());
        }
        let mut b = self.http.post(url).json(&body);
        if let Some(sig) = sig {
            b = b.bearer_auth(sig);
        }
        let reply: Reply = b.send().await?.json().await?;
        Ok(reply)
    }

    pub async fn ok<R: Request>(&self, req: &R, sig: Option<&str>) -> Result<Reply> {
        let reply = self.call(req, sig).await?;
        if reply.code != quartet_proto::Code::Ok {
            bail!(
                "{} answered {:?}: {}",
                R::ENDPOINT,
                reply.code,
                reply.message
            );
        }
        Ok(reply)
    }

    pub async fn login(&self) -> Result<User> {
        let req = api::GetImLoginInfo {
            user_id_prefix: "bench".into(),
            code: None,
        };
        let info: LoginInfo = self.ok(&req, None).await?.into_body()?;
        let push: PushUrl = self
            .ok(
                &api::GetPushUrl {
                    user_id: info.user_id.clone(),
                    room_id: None,
                },
                Some(&info.user_sig),
            )
            .await?
            .into_body()?;
        Ok((info.user_id, info.user_sig, push.push_url))
    }

    pub async fn create(&self, user: &User, name: &str) -> Result<String> {
        let req = api::CreateRoom {
            room_name: name.into(),
            user_id: user.0.clone(),
            user_name: user.0.clone(),
            user_avatar: "avatar.png".into(),
            push_url: user.2.clone(),
        };
        let created: api::CreatedRoom = self.ok(&req, Some(&user.1)).await?.into_body()?;
        Ok(created.room_id)
    }

    pub async fn join(&self, user: &User, room_id: &str) -> Result<()> {
        let req = api::AddPusher {
            room_id: room_id.into(),
            user_id: user.0.clone(),
            user_name: user.0.clone(),
            user_avatar: "avatar.png".into(),
            push_url: user.2.clone(),
            sharing_screen: false,
        };
        self.ok(&req, Some(&user.1)).await.map(drop)
    }

    /// The members of `room_id` as the server lists them.
    pub async fn pushers(&self, room_id: &str) -> Result<Vec<String>> {
        let req = api::GetPushers {
            room_id: room_id.into(),
        };
        let pushers: quartet_proto::Pushers = self.ok(&req, None).await?.into_body()?;
        Ok(pushers.pushers.into_iter().map(|p| p.user_id).collect())
    }

    /// One operation of the v1 mix: a heartbeat or a poll, alternately; now and then a burst.
    pub async fn op(&self, members: &[Member], n: u64, churn: &[User]) -> Result<()> {
        let m = &members[(n as usize / 2) % members.len()];
        if n % BURST_EVERY == BURST_EVERY - 1 {
            return self
                .burst(&churn[(n / BURST_EVERY) as usize % churn.len()..])
                .await;
        }
        if n.is_multiple_of(2) {
            let req = api::PusherHeartbeat(api::RoomUser {
                room_id: m.room_id.clone(),
                user_id: m.user_id.clone(),
            });
            self.ok(&req, Some(&m.sig)).await.map(drop)
        } else {
            self.ok(
                &api::GetPushers {
                    room_id: m.room_id.clone(),
                },
                None,
            )
            .await
            .map(drop)
        }
    }

    async fn burst(&self, users: &[User]) -> Result<()> {
        let users = &users[..MEMBERS.min(users.len())];
        let room = self.create(&users[0], "burst").await?;
        for u in &users[1..] {
            self.join(u, &room).await?;
        }
        for u in users.iter().rev() {
            let req = api::DeletePusher(api::RoomUser {
                room_id: room.clone(),
                user_id: u.0.clone(),
            });
            self.ok(&req, Some(&u.1)).await?;
        }
        Ok(())
    }
}
