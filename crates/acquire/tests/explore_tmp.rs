#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;
use support::*;

#[tokio::test]
async fn explore() {
    for e in [PATH_2, PATH_4, PATH_5, PATH_6, PATH_8] {
        let inv = inventory(e.file);
        let planned = plan_and_check(&inv, e.instance, e.mode);
        let h = Harness::with_inventory(inv.clone());
        let r = h.acquire_planned(&planned).await.unwrap();
        assert!(r.succeeded);
        let (shape, created, w) = (h.shape(), h.created(), h.journal.writes());
        let t = std::time::Instant::now();
        let mut fails = Vec::new();
        for n in 0..w {
            let h = Harness::with_inventory(inv.clone());
            h.journal.crash_after_writes(n);
            let first = h.acquire_planned(&planned).await;
            match &first { Err(err) if err.is_journal() => {}, Ok(_) => {}, Err(err) => fails.push(format!("n={n}: first run: {err}")) }
            h.journal.clear_fault();
            let r = match h.resume().await { Ok(r) => r, Err(err) => { fails.push(format!("n={n}: resume: {err:?}")); continue } };
            if !r.succeeded { fails.push(format!("n={n}: resume failed: {:?} left {:?}", volume_errors(&r), left(&r))); }
            if h.shape() != shape { fails.push(format!("n={n}: shape {:?}", h.shape())); }
            if !h.leftovers().is_empty() { fails.push(format!("n={n}: leftovers {:?}", h.leftovers())); }
            if !h.open_temporaries().is_empty() { fails.push(format!("n={n}: open {:?}", h.open_temporaries().iter().map(|r| &r.id).collect::<Vec<_>>())); }
            let c = h.created();
            if c.snapshots.len() != created.snapshots.len() || c.keys.len() != created.keys.len() || c.grants.len() != created.grants.len() || c.aliases.len() != created.aliases.len() { fails.push(format!("n={n}: created {c:?}")); }
            if !h.refusals().is_empty() { fails.push(format!("n={n}: refusals {:?}", h.refusals())); }
            if !unplanned_calls(&planned.0, &h.world.calls()).is_empty() { fails.push(format!("n={n}: unplanned {:?}", unplanned_calls(&planned.0, &h.world.calls()))); }
        }
        println!("== {} W={w} {:?} failures {}", e.file, t.elapsed(), fails.len());
        for f in fails.iter().take(30) { println!("  {f}"); }
    }
}
