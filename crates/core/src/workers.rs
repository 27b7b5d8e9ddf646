//! `Queue::get_workers`: the workers of a queue, as BullMQ finds them in `CLIENT LIST` by
//! the names their blocking connections carry.

use crate::error::{Error, Result};
use crate::queue::Queue;

/// One connection `CLIENT LIST` shows: its fields in the order Redis lists them.
pub type ClientInfo = Vec<(String, String)>;

/// What BullMQ reports when the server has no `CLIENT` command (GCP Memorystore).
const NO_CLIENT_LIST: &str = "GCP does not support client list";

/// Parses `CLIENT LIST` output and keeps the clients whose name `matches`; in each, `name`
/// becomes `queue` and the connection's own name is added as `rawname`.
fn parse_clients(list: &str, queue: &str, matches: impl Fn(&str) -> bool) -> Vec<ClientInfo> {
    let mut clients = Vec::new();
    for line in list.split('\n') {
        let mut client: ClientInfo = Vec::new();
        for field in line.trim_end_matches('\r').split(' ') {
            let (key, value) = field.split_once('=').unwrap_or(("", field));
            match client.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value.to_string(),
                None => client.push((key.to_string(), value.to_string())),
            }
        }
        let Some(name) = client
            .iter_mut()
            .find(|(k, _)| k == "name")
            .filter(|(_, v)| !v.is_empty() && matches(v))
        else {
            continue;
        };
        let raw = std::mem::replace(&mut name.1, queue.to_string());
        client.push(("rawname".into(), raw));
        clients.push(client);
    }
    clients
}

impl Queue {
    /// The queue's workers, of either library: connections named `<prefix>:<base64
    /// queue name>` or `…:w:<worker name>` (BullMQ's `getWorkers`).
    pub async fn get_workers(&self) -> Result<Vec<ClientInfo>> {
        let base = self.core().client_name();
        let named = format!("{base}:w:");
        self.clients_named(|name| name == base || name.starts_with(&named))
            .await
    }

    /// How many workers `get_workers` lists.
    pub async fn get_workers_count(&self) -> Result<usize> {
        Ok(self.get_workers().await?.len())
    }

    /// The queue's event listeners, of either library: connections named `<prefix>:<base64
    /// queue name>:qe` (BullMQ's deprecated `getQueueEvents`).
    pub async fn get_queue_events(&self) -> Result<Vec<ClientInfo>> {
        let listener = format!("{}:qe", self.core().client_name());
        self.clients_named(|name| name == listener).await
    }

    /// The connections `CLIENT LIST` shows whose name `matches`; BullMQ's placeholder entry
    /// when the server has no `CLIENT` command.
    async fn clients_named(&self, matches: impl Fn(&str) -> bool) -> Result<Vec<ClientInfo>> {
        let list: String = match self.core().query(redis::cmd("CLIENT").arg("LIST")).await {
            Ok(list) => list,
            Err(Error::Redis(message)) if no_client_command(&message) => {
                return Ok(vec![vec![("name".into(), NO_CLIENT_LIST.into())]]);
            }
            Err(err) => return Err(err),
        };
        Ok(parse_clients(&list, self.name(), matches))
    }
}

fn no_client_command(message: &str) -> bool {
    let message = message.to_lowercase();
    message.contains("unknown command") && message.contains("client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_matching_clients_with_bullmq_fields() {
        let list = "id=3 addr=127.0.0.1:1 name=bull:cQ== db=0\r\n\
                    id=4 addr=127.0.0.1:2 name=bull:cQ==:w:one db=0\n\
                    id=5 addr=127.0.0.1:3 name=bull:cQ==:qe db=0\n\
                    id=6 addr=127.0.0.1:4 name= db=0\n";
        let clients = parse_clients(list, "q", |n| {
            n == "bull:cQ==" || n.starts_with("bull:cQ==:w:")
        });
        let pairs = |c: &ClientInfo| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(clients.len(), 2);
        assert_eq!(
            pairs(&clients[0]),
            [
                "id=3",
                "addr=127.0.0.1:1",
                "name=q",
                "db=0",
                "rawname=bull:cQ=="
            ]
        );
        assert_eq!(pairs(&clients[1])[4], "rawname=bull:cQ==:w:one");
    }
}
