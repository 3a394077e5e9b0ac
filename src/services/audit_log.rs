//! Reading the audit log: its entries newest first, for admins, by entity, by key or by person.
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::AppState;
use super::audit::AuditEntity;
use super::pagination::{Cursor, Page, PageArgs, Window};
use crate::auth::{Caller, Role};
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// Which entries `list` returns: of one entity type, one entity, one key, one actor (all when
/// None).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<i64>,
    pub api_key_id: Option<i64>,
    /// A person (a token's subject or a key's owner: every key and token they used) or a key's
    /// name (or a token user's display name), matched exactly.
    pub actor: Option<String>,
}

/// Entries newest first, for admins only.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: AuditFilter,
    args: &PageArgs,
) -> AppResult<Page<audit_log::Model>> {
    let actor = caller.as_ref().ok_or(AppError::Unauthenticated)?;
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden(Msg::AdminsOnlyAuditLog));
    }
    let window = Window::new(args, "AUDIT")?;
    let mut query = audit_log::Entity::find();
    if let Some(entity) = filter.entity {
        query = query.filter(audit_log::Column::EntityType.eq(entity.as_str()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_log::Column::EntityId.eq(id));
    }
    if let Some(id) = filter.api_key_id {
        query = query.filter(audit_log::Column::ApiKeyId.eq(id));
    }
    if let Some(actor) = filter.actor.as_deref().map(str::trim) {
        if actor.is_empty() {
            return Err(AppError::bad_input("actor", Msg::AuditActorEmpty));
        }
        let by = Condition::any().add(audit_log::Column::Person.eq(actor)).add(audit_log::Column::ApiKeyName.eq(actor));
        query = query.filter(by);
    }
    // Newest first: "after" a cursor means smaller ids.
    if let Some(after) = &window.after {
        query = query.filter(audit_log::Column::Id.lt(after.id));
    }
    if let Some(before) = &window.before {
        query = query.filter(audit_log::Column::Id.gt(before.id));
    }
    let query = if window.backward {
        query.order_by_asc(audit_log::Column::Id)
    } else {
        query.order_by_desc(audit_log::Column::Id)
    };
    let rows = query.limit(window.limit + 1).all(&state.db).await?;
    let fetched = rows
        .into_iter()
        .map(|row| (Cursor { ordering: "AUDIT".into(), key: String::new(), id: row.id }, row))
        .collect();
    Ok(Page::from_fetched(&window, fetched))
}
