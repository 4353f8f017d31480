//! `--threat`: sign-in throughput (USER_PASSWORD_AUTH) on two pools of the same server, one with
//! threat protection OFF, one ENFORCED (compromised-password check at sign-in, account-takeover
//! assessment with NO_ACTION at every level, so every sign-in writes and updates its event),
//! alternated twice. The breach filter itself is measured by `cargo bench -p tessera-breach`.

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider as idp;
use idp::types::{
    AccountTakeoverActionType, AccountTakeoverActionsType, AccountTakeoverEventActionType,
    AccountTakeoverRiskConfigurationType, AdvancedSecurityModeType, AuthFlowType,
    CompromisedCredentialsActionsType, CompromisedCredentialsEventActionType,
    CompromisedCredentialsRiskConfigurationType, EventFilterType, UserPoolAddOnsType,
};
use std::sync::Arc;

use crate::PASSWORD;

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
    let client = crate::password_client(c, &pool, name).await?;
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
                    .build(),
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
                    .build(),
            )
            .send()
            .await?;
    }
    let mut names = Vec::new();
    for i in 0..users {
        let user = format!("{name}-{i:04}");
        crate::add_user(c, &pool, &user).await?;
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
) -> crate::Run {
    let (c, client, users) = (c.clone(), client.to_string(), Arc::new(users.to_vec()));
    crate::drive(concurrency, seconds, move |i| {
        let (c, client, users) = (c.clone(), client.clone(), users.clone());
        async move {
            c.initiate_auth()
                .client_id(&client)
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", &users[i % users.len()])
                .auth_parameters("PASSWORD", PASSWORD)
                .send()
                .await
                .is_ok_and(|r| r.authentication_result.is_some())
        }
    })
    .await
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
            let r = sign_ins(c, client, users, concurrency, seconds).await;
            println!(
                "{:<44} {:>9} {:>10.0} {:>9.2} {:>9.2}{}",
                format!("{label} #{}", round + 1),
                r.ok,
                r.rate(),
                r.ms(0.50),
                r.ms(0.99),
                if r.failed > 0 {
                    format!("  ({} failed)", r.failed)
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(())
}
