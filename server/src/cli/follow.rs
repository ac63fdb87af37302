//! Following one run through the live hub, as a browser does over `/ws`: a snapshot, then
//! each event as it is published (resubscribing from the last event if the hub drops this
//! follower for being slow). Prints each log line and each step change once.

use super::output::printable;
use crate::live::{Hub, Subscription};
use gdl_model::ids::RunId;
use gdl_model::live::{ClientFrame, LiveEvent, ServerFrame};
use gdl_model::runs::{LogLine, Run, StepName, StepStatus};
use std::collections::{HashMap, VecDeque};

/// A run being followed.
pub struct Follower<'p> {
    progress: &'p super::progress::Progress,
    hub: Hub,
    run_id: RunId,
    sub: Subscription,
    pending: VecDeque<crate::live::hub::Frame>,
    last_seq: Option<u64>,
    shown_lines: u64,
    shown_steps: HashMap<StepName, StepStatus>,
}

impl<'p> Follower<'p> {
    /// Starts following `run_id`, showing it on `progress`.
    pub fn new(hub: Hub, run_id: RunId, progress: &'p super::progress::Progress) -> Self {
        let sub = hub.subscribe(&ClientFrame::Hello {
            last_seq: None,
            epoch: None,
        });
        let pending = sub.initial.iter().cloned().collect();
        Self {
            progress,
            hub,
            run_id,
            sub,
            pending,
            last_seq: None,
            shown_lines: 0,
            shown_steps: HashMap::new(),
        }
    }

    /// Waits for the next frame and prints what it changed; returns the run once it has
    /// finished.
    pub async fn next(&mut self) -> Option<Run> {
        let frame = match self.pending.pop_front() {
            Some(frame) => frame,
            None => tokio::select! {
                frame = self.sub.rx.recv() => match frame {
                    Some(frame) => frame,
                    None => {
                        self.resubscribe();
                        return None;
                    }
                },
                _ = &mut self.sub.kicked => {
                    self.resubscribe();
                    return None;
                }
            },
        };
        let frame: ServerFrame = serde_json::from_str(&frame).ok()?;
        match frame {
            ServerFrame::Snapshot { seq, state, .. } => {
                self.last_seq = Some(seq);
                for line in state.logs.get(&self.run_id).into_iter().flatten() {
                    self.print_line(line);
                }
                let run = state.runs.get(&self.run_id)?;
                self.print_steps(run);
                run.status.is_finished().then(|| run.clone())
            }
            ServerFrame::Event { seq, event, .. } => {
                self.last_seq = Some(seq);
                match event {
                    LiveEvent::RunLog { line } if line.run_id == self.run_id => {
                        self.print_line(&line);
                        None
                    }
                    LiveEvent::RunUpsert { run } if run.id == self.run_id => {
                        self.print_steps(&run);
                        run.status.is_finished().then_some(run)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Picks up where it left off (replay), or from a snapshot.
    fn resubscribe(&mut self) {
        self.hub.unsubscribe(self.sub.client_id);
        self.sub = self.hub.subscribe(&ClientFrame::Hello {
            last_seq: self.last_seq,
            epoch: Some(self.hub.epoch().to_owned()),
        });
        self.pending = self.sub.initial.iter().cloned().collect();
    }

    fn print_line(&mut self, line: &LogLine) {
        if line.n > self.shown_lines {
            self.shown_lines = line.n;
            self.progress.line(&format!(
                "    {} {}",
                line.at.format("%H:%M:%S"),
                printable(&line.message)
            ));
        }
    }

    fn print_steps(&mut self, run: &Run) {
        let total = run.steps.len();
        for (i, step) in run.steps.iter().enumerate() {
            if step.status == StepStatus::Pending
                || self.shown_steps.get(&step.name) == Some(&step.status)
            {
                continue;
            }
            self.shown_steps.insert(step.name, step.status);
            let filled = i + usize::from(step.status != StepStatus::Running);
            let why = match (&step.code, &step.reason) {
                (Some(code), Some(reason)) => format!(": [{code}] {}", printable(reason)),
                (None, Some(reason)) => format!(": {}", printable(reason)),
                _ => String::new(),
            };
            self.progress.line(&format!(
                "[{}{}] {:>2}/{total} {} {:?}{why}",
                "#".repeat(filled),
                "-".repeat(total - filled),
                i + 1,
                step.name.label(),
                step.status,
            ));
            if let (StepStatus::Failed, Some(hint)) = (step.status, &step.hint) {
                self.progress.line(&format!("         hint: {hint}"));
            }
        }
        let done = run.steps.iter().filter(|s| s.status.is_done()).count() as u64;
        let current = run
            .steps
            .iter()
            .find(|s| s.status == StepStatus::Running)
            .map(|s| s.name.label())
            .unwrap_or_default();
        self.progress.step(done, current);
    }
}

impl Drop for Follower<'_> {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.sub.client_id);
    }
}
