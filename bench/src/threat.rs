//! `--threat`: threat protection's costs, measured in one run.
//!
//! 1. The breach filter: 10^7 (by default) distinct SHA-1s of synthetic passwords, built into
//!    BinaryFuse8 and BinaryFuse16 filters as `tessera breach import` does; bytes per entry of
//!    the file, build time, lookups per second on one core (half members, half not), and the
//!    false-positive rate measured over 10^6 passwords that were not put in.
//! 2. Sign-in throughput (USER_PASSWORD_AUTH) on two pools of the same server: one with threat
//!    protection OFF, one ENFORCED (compromised-password check at sign-in, account-takeover
//!    assessment with NO_ACTION at every level, so every sign-in writes and updates its event).

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider as idp;
use idp::types::{
    AccountTakeoverActionType, AccountTakeoverActionsType, AccountTakeoverEventActionType,
    AccountTakeoverRiskConfigurationType, AdvancedSecurityModeType, AuthFlowType,
    CompromisedCredentialsActionsType, CompromisedCredentialsEventActionType,
    CompromisedCredentialsRiskConfigurationType, EventFilterType, ExplicitAuthFlowsType,
    MessageActionType, UserPoolAddOnsType,
};
use std::time::{Duration, Instant};
use tessera_breach::{Bits, Filter};

pub fn filter_bench(entries: usize) -> Result<()> {
    println!("breach filter, {entries} distinct SHA-1s (synthetic passwords):");
    let started = Instant::now();
    let keys: Vec<u64> = (0..entries)
        .map(|i| tessera_breach::key(&tessera_breach::sha1(&format!("breached-{i}"))))
        .collect();
    println!(
        "  hashing the corpus: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let probes = 1_000_000usize;
    let members: Vec<[u8; 20]> = (0..probes / 2)
        .map(|i| tessera_breach::sha1(&format!("breached-{}", i * (entries / (probes / 2)).max(1))))
        .collect();
    let strangers: Vec<[u8; 20]> = (0..probes)
        .map(|i| tessera_breach::sha1(&format!("never-breached-{i}")))
        .collect();
    println!(
        "  {:<14} {:>12} {:>14} {:>10} {:>14} {:>12}",
        "filter", "file bytes", "bytes/entry", "build s", "lookups/s", "false pos."
    );
    for bits in [Bits::Eight, Bits::Sixteen] {
        let t = Instant::now();
        let filter = Filter::build(keys.clone(), bits)?;
        let build = t.elapsed();
        let mut file = Vec::with_capacity(filter.fingerprint_bytes() as usize + 64);
        filter.write_to(&mut file)?;
        let back = Filter::read_from(&mut file.as_slice())?;
        anyhow::ensure!(
            members.iter().all(|d| back.contains(d)),
            "a member was not found"
        );
        // Lookups: the full path a sign-in takes (digest → key → filter), half members.
        let mix: Vec<&[u8; 20]> = members
            .iter()
            .zip(strangers.iter())
            .flat_map(|(a, b)| [a, b])
            .collect();
        let t = Instant::now();
        let mut found = 0usize;
        let rounds = 5;
        for _ in 0..rounds {
            for d in &mix {
                found += usize::from(back.contains(std::hint::black_box(d)));
            }
        }
        let per_second = (mix.len() * rounds) as f64 / t.elapsed().as_secs_f64();
        std::hint::black_box(found);
        let false_positives = strangers.iter().filter(|d| back.contains(d)).count();
        let label = match bits {
            Bits::Eight => "BinaryFuse8",
            Bits::Sixteen => "BinaryFuse16",
        };
        println!(
            "  {:<14} {:>12} {:>14.3} {:>10.2} {:>14.0} {:>11.4}%",
            label,
            file.len(),
            file.len() as f64 / filter.entries() as f64,
            build.as_secs_f64(),
            per_second,
            false_positives as f64 * 100.0 / strangers.len() as f64
        );
    }
    // The embedded list, on the same footing.
    let t = Instant::now();
    let mut n = 0usize;
    for d in strangers.iter().take(200_000) {
        n += usize::from(tessera_breach::embedded(d));
    }
    std::hint::black_box(n);
    println!(
        "  embedded list ({} passwords, sorted keys): {:.0} lookups/s",
        tessera_breach::embedded_len(),
        200_000.0 / t.elapsed().as_secs_f64()
    );
    Ok(())
}

const PASSWORD: &str = "Bench-Passw0rd!";

async fn pool_with_users(
    c: &idp::Client,
    name: &str,
    mode: AdvancedSecurityModeType,
    users: usize,
) -> Result<(String, String, Vec<String>)> {
    let pool = c
        .create_user_pool()
        .pool_name(name)
        .user_pool_add_ons(
            UserPoolAddOnsType::builder()
                .advanced_security_mode(mode.clone())
                .build()?,
        )
        .send()
        .await?
        .user_pool
        .and_then(|p| p.id)
        .context("pool id")?;
    let client = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name(name)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await?
        .user_pool_client
        .and_then(|c| c.client_id)
        .context("client id")?;
    if mode == AdvancedSecurityModeType::Enforced {
        let no_action = || {
            AccountTakeoverActionType::builder()
                .event_action(AccountTakeoverEventActionType::NoAction)
                .notify(false)
                .build()
        };
        c.set_risk_configuration()
            .user_pool_id(&pool)
            .compromised_credentials_risk_configuration(
                CompromisedCredentialsRiskConfigurationType::builder()
                    .event_filter(EventFilterType::SignIn)
                    .actions(
                        CompromisedCredentialsActionsType::builder()
                            .event_action(CompromisedCredentialsEventActionType::Block)
                            .build()?,
                    )
                    .build()?,
            )
            .account_takeover_risk_configuration(
                AccountTakeoverRiskConfigurationType::builder()
                    .actions(
                        AccountTakeoverActionsType::builder()
                            .low_action(no_action()?)
                            .medium_action(no_action()?)
                            .high_action(no_action()?)
                            .build(),
                    )
                    .build()?,
            )
            .send()
            .await?;
    }
    let mut names = Vec::new();
    for i in 0..users {
        let user = format!("{name}-{i:04}");
        c.admin_create_user()
            .user_pool_id(&pool)
            .username(&user)
            .message_action(MessageActionType::Suppress)
            .send()
            .await?;
        c.admin_set_user_password()
            .user_pool_id(&pool)
            .username(&user)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await?;
        names.push(user);
    }
    Ok((pool, client, names))
}

async fn sign_ins(
    c: &idp::Client,
    client: &str,
    users: &[String],
    concurrency: usize,
    seconds: u64,
) -> (usize, usize, f64, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (c, client, users) = (c.clone(), client.to_string(), users.to_vec());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed, mut i) = (Vec::new(), 0usize, w);
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = c
                    .initiate_auth()
                    .client_id(&client)
                    .auth_flow(AuthFlowType::UserPasswordAuth)
                    .auth_parameters("USERNAME", &users[i % users.len()])
                    .auth_parameters("PASSWORD", PASSWORD)
                    .send()
                    .await
                    .is_ok_and(|r| r.authentication_result.is_some());
                if ok {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
                i += concurrency;
            }
            (lat, failed)
        }));
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, f)) = t.await {
            lat.extend(l);
            failed += f;
        }
    }
    lat.sort();
    (lat.len(), failed, start.elapsed().as_secs_f64(), lat)
}

pub async fn sign_in_bench(c: &idp::Client, concurrency: usize, seconds: u64) -> Result<()> {
    let users = concurrency.max(1);
    let (_, off_client, off_users) =
        pool_with_users(c, "threat-off", AdvancedSecurityModeType::Off, users).await?;
    let (_, on_client, on_users) = pool_with_users(
        c,
        "threat-enforced",
        AdvancedSecurityModeType::Enforced,
        users,
    )
    .await?;
    println!();
    println!(
        "{:<44} {:>9} {:>10} {:>9} {:>9}",
        "sign-in (USER_PASSWORD_AUTH)", "requests", "req/s", "p50 ms", "p99 ms"
    );
    // Alternate twice so drift (cache, WAL growth) doesn't favour one side.
    for round in 0..2 {
        for (label, client, users) in [
            ("threat protection OFF", &off_client, &off_users),
            (
                "ENFORCED (breach check + risk + event)",
                &on_client,
                &on_users,
            ),
        ] {
            let (ok, failed, secs, lat) = sign_ins(c, client, users, concurrency, seconds).await;
            println!(
                "{:<44} {:>9} {:>10.0} {:>9.2} {:>9.2}{}",
                format!("{label} #{}", round + 1),
                ok,
                ok as f64 / secs,
                crate::percentile(&lat, 0.50).as_secs_f64() * 1e3,
                crate::percentile(&lat, 0.99).as_secs_f64() * 1e3,
                if failed > 0 {
                    format!("  ({failed} failed)")
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(())
}
