//! Terms documents: CreateTerms, DescribeTerms, DescribeTermsByClient, UpdateTerms,
//! DeleteTerms, ListTerms, and [`Engine::terms_links`], the two links a hosted sign-up page
//! shows.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use crate::pools::{decode_token, encode_token};
use crate::random_uuid;
use std::collections::BTreeMap;
use tessera_domain::terms::{Terms, TermsKind, TermsLinks, terms_exists, terms_not_found};
use tessera_domain::{ClientId, UserPoolId};
use tessera_store::Conflict;
use uuid::Uuid;

/// ListTerms' page size when MaxResults is absent.
const DEFAULT_PAGE: usize = 60;

#[derive(Clone, Debug)]
pub struct TermsPage {
    pub terms: Vec<Terms>,
    pub next_token: Option<String>,
}

/// The wire's id is a UUID v4 (the model's pattern); anything else names no document.
fn terms_id(id: &str) -> EngineResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| terms_not_found().into())
}

fn exists_as(kind: TermsKind) -> impl Fn(tessera_store::StoreError) -> crate::EngineError {
    move |e| on_conflict(e, |c| (*c == Conflict::Terms).then(|| terms_exists(kind)))
}

impl Engine {
    pub async fn create_terms(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        name: &str,
        links: Option<BTreeMap<String, String>>,
    ) -> EngineResult<Terms> {
        let kind = TermsKind::parse(name)?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        let terms = Terms::new(
            random_uuid(),
            pool_id.clone(),
            client.client_id,
            kind,
            links,
            self.now(),
        )?;
        tx.insert_terms(&terms).await.map_err(exists_as(kind))?;
        tx.commit().await?;
        Ok(terms)
    }

    pub async fn describe_terms(&self, pool_id: &UserPoolId, id: &str) -> EngineResult<Terms> {
        let id = terms_id(id)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        Ok(tx
            .get_terms(pool_id, &id)
            .await?
            .ok_or_else(terms_not_found)?)
    }

    pub async fn describe_terms_by_client(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        name: &str,
    ) -> EngineResult<Terms> {
        let kind = TermsKind::parse(name)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        tx.terms_of_client(pool_id, &client.client_id)
            .await?
            .into_iter()
            .find(|t| t.kind == kind)
            .ok_or_else(|| terms_not_found().into())
    }

    pub async fn update_terms(
        &self,
        pool_id: &UserPoolId,
        id: &str,
        name: Option<&str>,
        links: Option<BTreeMap<String, String>>,
    ) -> EngineResult<Terms> {
        let id = terms_id(id)?;
        let kind = name.map(TermsKind::parse).transpose()?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut terms = tx
            .get_terms(pool_id, &id)
            .await?
            .ok_or_else(terms_not_found)?;
        terms.update(kind, links, self.now())?;
        tx.update_terms(&terms)
            .await
            .map_err(exists_as(terms.kind))?;
        tx.commit().await?;
        Ok(terms)
    }

    pub async fn delete_terms(&self, pool_id: &UserPoolId, id: &str) -> EngineResult<()> {
        let id = terms_id(id)?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if !tx.delete_terms(pool_id, &id).await? {
            return Err(terms_not_found().into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_terms(
        &self,
        pool_id: &UserPoolId,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> EngineResult<TermsPage> {
        let limit = max_results.unwrap_or(DEFAULT_PAGE);
        let after = decode_token(next_token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut terms = tx.list_terms(pool_id, after.as_deref(), limit + 1).await?;
        let next_token = (terms.len() > limit)
            .then(|| {
                terms.truncate(limit);
                terms.last().map(|t| encode_token(&t.id.to_string()))
            })
            .flatten();
        Ok(TermsPage { terms, next_token })
    }

    /// The terms links `client`'s hosted sign-up page shows in `page_language`, once it has
    /// both documents.
    pub async fn terms_links(
        &self,
        pool_id: &UserPoolId,
        client_id: &ClientId,
        page_language: &str,
    ) -> EngineResult<Option<TermsLinks>> {
        let mut tx = self.inner.store.read().await?;
        let documents = tx.terms_of_client(pool_id, client_id).await?;
        Ok(TermsLinks::of(&documents, page_language))
    }
}
