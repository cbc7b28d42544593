//! `quartet rooms`: the room list of any v1 server, one line a room.

use anyhow::{Context, Result};
use clap::Args;
use quartet_proto::RoomKind;
use quartet_room::ApiClient;
use url::Url;

/// Most rooms asked for in one listing.
const PAGE: usize = 100;

/// Flags of `quartet rooms`.
#[derive(Args)]
pub struct RoomsArgs {
    /// Room server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "QUARTET_SERVER")]
    server: Url,
    /// Room kind.
    #[arg(long, default_value = "multi_room")]
    kind: RoomKind,
    /// Print the raw JSON list instead of a table.
    #[arg(long)]
    json: bool,
}

/// Lists the rooms.
pub async fn run(args: RoomsArgs) -> Result<()> {
    let api = ApiClient::new(args.server.clone(), args.kind)?;
    let mut rooms = Vec::new();
    loop {
        let page = api
            .get_room_list(rooms.len(), PAGE)
            .await
            .with_context(|| format!("could not list rooms on {}", args.server))?;
        let n = page.rooms.len();
        rooms.extend(page.rooms);
        if n < PAGE {
            break;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rooms)?);
        return Ok(());
    }
    if rooms.is_empty() {
        println!("no {} rooms on {}", args.kind, args.server);
        return Ok(());
    }
    println!("{:<28} {:>7}  {:<24} members", "roomID", "members", "name");
    for room in rooms {
        let count = match room.max_members {
            Some(max) => format!("{}/{max}", room.pushers.len()),
            None => room.pushers.len().to_string(),
        };
        let names: Vec<&str> = room.pushers.iter().map(|p| p.user_name.as_str()).collect();
        println!(
            "{:<28} {:>7}  {:<24} {}",
            room.room_id,
            count,
            room.room_name,
            names.join(", ")
        );
    }
    Ok(())
}
