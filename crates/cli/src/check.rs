//! `quartet check`: walks a room server through the v1 lifecycle (two members, one room, the
//! refusals, the answers once the room is gone) and reports every answer that differs from the
//! original v1 server's: status, content type, code, message, field names and types, who is
//! listed. The walk is the table in [`steps`]; the rules are [`judge`].

mod judge;
mod steps;

use anyhow::{Context, Result};
use clap::Args;
use judge::{Deviation, Known, judge};
use quartet_proto::{Endpoint, RoomKind};
use quartet_room::ApiClient;
use serde::Serialize;
use serde_json::{Map, Value, json};
use steps::{Keep, RoomRef, STEPS, Step, Token, Who};
use url::Url;

/// The `userIDPrefix` the walk logs in with.
const USER_ID_PREFIX: &str = "quartet_check";
/// The name of the room the walk creates.
const ROOM_NAME: &str = "quartet check";
/// The avatar both members send: a URL, as the original's clients sent, never fetched.
const AVATAR: &str = "https://quartet.invalid/check.png";
/// A room ID no server hands out (IDs are `room_<epoch ms>_<counter>`).
const UNKNOWN_ROOM: &str = "room_0_quartet_check_unknown";
/// The page of rooms asked for: v1 clients asked for 20; more finds our room on a busy server.
const ROOM_LIST_CNT: usize = 100;

/// `--kind`: one room kind, or all three in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KindArg {
    /// Many-to-many rooms.
    #[value(name = "multi_room")]
    MultiRoom,
    /// One-to-one rooms.
    #[value(name = "double_room")]
    DoubleRoom,
    /// Live rooms.
    #[value(name = "live_room")]
    LiveRoom,
    /// The three in turn.
    #[value(name = "all")]
    All,
}

impl KindArg {
    fn kinds(self) -> Vec<RoomKind> {
        match self {
            KindArg::MultiRoom => vec![RoomKind::MultiRoom],
            KindArg::DoubleRoom => vec![RoomKind::DoubleRoom],
            KindArg::LiveRoom => vec![RoomKind::LiveRoom],
            KindArg::All => RoomKind::ALL.to_vec(),
        }
    }
}

/// Flags of `quartet check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Room server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "QUARTET_SERVER")]
    server: Url,
    /// Which room kind to walk through.
    #[arg(long, value_enum, default_value_t = KindArg::MultiRoom)]
    kind: KindArg,
    /// Print the report as JSON on standard output instead of lines for people.
    #[arg(long)]
    json: bool,
}

/// One step's outcome.
#[derive(Debug, Serialize)]
struct StepReport {
    kind: &'static str,
    step: &'static str,
    endpoint: &'static str,
    deviations: Vec<Deviation>,
}

/// The whole walk's outcome; `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    server: String,
    /// How many deviations, over all steps.
    deviations: usize,
    /// Kinds whose walk could not go on, and why.
    stopped: Vec<String>,
    steps: Vec<StepReport>,
}

/// Runs `quartet check`; fails (non-zero exit) when any answer deviates.
pub async fn run(args: CheckArgs) -> Result<()> {
    let mut report = Report {
        server: args.server.to_string(),
        deviations: 0,
        stopped: Vec::new(),
        steps: Vec::new(),
    };
    for kind in args.kind.kinds() {
        let api = ApiClient::new(args.server.clone(), kind)?;
        let mut walk = Walk::new(api);
        if let Err(why) = walk.run(&mut report, !args.json).await {
            report.stopped.push(format!("{kind}: {why}"));
            if !args.json {
                println!("{kind}: stopped: {why}");
            }
        }
        walk.clean_up().await;
    }
    report.deviations = report.steps.iter().map(|s| s.deviations.len()).sum();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} deviation(s) from the original in {} step(s)",
            report.deviations,
            report.steps.len()
        );
    }
    if report.deviations > 0 || !report.stopped.is_empty() {
        anyhow::bail!(
            "{} deviation(s) from the original v1 server{}",
            report.deviations,
            if report.stopped.is_empty() {
                ""
            } else {
                "; the walk stopped early"
            }
        );
    }
    Ok(())
}

/// What one member of the walk has been given.
#[derive(Debug, Default)]
struct Member {
    user_id: String,
    user_sig: String,
    push_url: String,
}

/// One kind's walk: the two members and the room.
struct Walk {
    api: ApiClient,
    creator: Member,
    second: Member,
    room_id: String,
    /// The room exists and we have not seen it destroyed.
    room_open: bool,
}

impl Walk {
    fn new(api: ApiClient) -> Walk {
        Walk {
            api,
            creator: Member::default(),
            second: Member::default(),
            room_id: String::new(),
            room_open: false,
        }
    }

    fn member(&self, who: Who) -> &Member {
        match who {
            Who::Creator => &self.creator,
            Who::Second => &self.second,
        }
    }

    fn member_mut(&mut self, who: Who) -> &mut Member {
        match who {
            Who::Creator => &mut self.creator,
            Who::Second => &mut self.second,
        }
    }

    /// The client `step` is sent with, carrying the token it names.
    fn client(&self, step: &Step) -> ApiClient {
        let owner = match (step.token, step.who) {
            (Token::Own, who) => who,
            (Token::Others, Who::Creator) => Who::Second,
            (Token::Others, Who::Second) => Who::Creator,
        };
        let sig = &self.member(owner).user_sig;
        let mut api = self.api.clone();
        api.set_user_sig((!sig.is_empty()).then(|| sig.clone()));
        api
    }

    /// Walks the table, adding each step's outcome to `report`; an error says why the walk
    /// cannot go on (the server unreachable, or an answer without what later steps need).
    async fn run(&mut self, report: &mut Report, print: bool) -> Result<()> {
        let kind = self.api.kind().as_str();
        for step in STEPS {
            let reply = self
                .client(step)
                .call_raw(step.endpoint, body(step, self))
                .await
                .with_context(|| format!("{}: no answer", step.endpoint))?;
            let known = Known {
                room_id: &self.room_id,
                creator: &self.creator.user_id,
                second: &self.second.user_id,
            };
            let (deviations, answer) = judge(step, &reply, &known);
            if print {
                print_step(kind, step, &deviations);
            }
            report.steps.push(StepReport {
                kind,
                step: step.what,
                endpoint: step.endpoint.as_str(),
                deviations,
            });
            self.keep(step, answer.as_ref())?;
        }
        Ok(())
    }

    /// Keeps what `step` is there to learn, and follows the room's life.
    fn keep(&mut self, step: &Step, answer: Option<&Map<String, Value>>) -> Result<()> {
        let ok = answer.and_then(|a| a.get("code")).and_then(Value::as_i64) == Some(0);
        let text = |key: &str| -> Result<String> {
            answer
                .filter(|_| ok)
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("{} gave no {key}", step.endpoint))
        };
        match step.keep {
            Keep::Nothing => {}
            Keep::Login => {
                let (user_id, user_sig) = (text("userID")?, text("userSig").unwrap_or_default());
                let member = self.member_mut(step.who);
                member.user_id = user_id;
                member.user_sig = user_sig;
            }
            Keep::PushUrl => self.member_mut(step.who).push_url = text("pushURL")?,
            Keep::RoomId => {
                self.room_id = text("roomID")?;
                self.room_open = true;
            }
        }
        if ok && step.endpoint == Endpoint::DestroyRoom && step.room == RoomRef::Ours {
            self.room_open = false;
        }
        Ok(())
    }

    /// Closes the room when the walk stopped before destroying it, so no room is left behind.
    async fn clean_up(&self) {
        if !self.room_open {
            return;
        }
        let mut api = self.api.clone();
        api.set_user_sig(Some(self.creator.user_sig.clone()).filter(|s| !s.is_empty()));
        if let Err(e) = api.destroy_room(&self.room_id, &self.creator.user_id).await {
            tracing::warn!(room = %self.room_id, error = %e, "could not close the room the check created");
        }
    }
}

/// The body `step` sends, from what the walk knows; `step.drop` left out.
fn body(step: &Step, walk: &Walk) -> Map<String, Value> {
    let me = walk.member(step.who);
    let room = match step.room {
        RoomRef::Ours => walk.room_id.as_str(),
        RoomRef::Unknown => UNKNOWN_ROOM,
    };
    let value = match step.endpoint {
        Endpoint::GetImLoginInfo => json!({ "userIDPrefix": USER_ID_PREFIX }),
        Endpoint::GetPushUrl => json!({ "userID": me.user_id }),
        Endpoint::CreateRoom => json!({
            "roomName": ROOM_NAME, "userID": me.user_id, "userName": who_name(step.who),
            "userAvatar": AVATAR, "pushURL": me.push_url,
        }),
        Endpoint::AddPusher => json!({
            "roomID": room, "userID": me.user_id, "userName": who_name(step.who),
            "userAvatar": AVATAR, "pushURL": me.push_url,
        }),
        Endpoint::GetPushers => json!({ "roomID": room }),
        Endpoint::GetRoomList => json!({ "index": 0, "cnt": ROOM_LIST_CNT }),
        Endpoint::PusherHeartbeat
        | Endpoint::DeletePusher
        | Endpoint::DestroyRoom
        | Endpoint::HandOverRoom => {
            json!({ "roomID": room, "userID": me.user_id })
        }
        Endpoint::SendRoomTextMsg => {
            json!({ "roomID": room, "userID": me.user_id, "msg": "quartet check" })
        }
        Endpoint::MergeStream => {
            json!({ "roomID": room, "userID": me.user_id, "mergeParams": {} })
        }
    };
    let mut map = match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(field) = step.drop {
        map.remove(field);
    }
    map
}

fn who_name(who: Who) -> &'static str {
    match who {
        Who::Creator => "check creator",
        Who::Second => "check member",
    }
}

fn print_step(kind: &str, step: &Step, deviations: &[Deviation]) {
    let mark = if deviations.is_empty() { "ok" } else { "!!" };
    println!("{mark} {kind} {:<18} {}", step.endpoint.as_str(), step.what);
    for d in deviations {
        println!("     {}: expected {}, got {}", d.what, d.expected, d.got);
    }
}
