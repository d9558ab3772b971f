//! Organization Management > Users: the organization's people, "Add user" (which shows the new user's
//! one-time link to hand over), role changes, deactivation after a warning of what it does, and a new
//! one-time link for an active user: a set-up link, or a password reset (confirmed first).

use super::{Changes, Loaded, OrganizationTabs, send, submit};
use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use leptos::prelude::*;
use shared::Role;
use shared::admin::{
    NewUserRequest, SetupLink, UserAdminView, UserChangeRequest, UsersAdminPage, messages,
};
use shared::api::{FieldError, paths};

#[component]
pub fn UsersTab() -> impl IntoView {
    let page = Loaded::<UsersAdminPage>::fixed(paths::ADMIN_USERS);
    let reload = move || page.reload();
    let changes = Changes::<UserChangeRequest>::new(Callback::new(move |()| reload()));
    let change = move |user: &UserAdminView, role: Role, active: bool| {
        let request = UserChangeRequest {
            role: role.code().to_owned(),
            active,
            version: user.version,
        };
        let warning =
            (user.active && !active).then(|| messages::deactivate_warning(&user.display_name));
        changes.request(
            paths::admin_user(user.id),
            request,
            format!("{} saved.", user.display_name),
            warning,
        );
    };
    let link = RwSignal::new(None::<SetupLink>);
    let me = match crate::session::use_session().get_untracked() {
        crate::session::Session::SignedIn(me) => Some(me.user.id),
        _ => None,
    };
    // A new one-time link for a user: a reset (it ends their sessions) is confirmed first.
    let linking = RwSignal::new(None::<UserAdminView>);
    let link_dialog = RwSignal::new(false);
    let link_busy = RwSignal::new(false);
    let toasts = use_toasts();
    let issue_link = move |user: UserAdminView| {
        if link_busy.get_untracked() {
            return;
        }
        link_busy.set(true);
        leptos::task::spawn_local(async move {
            let path = if user.has_password {
                paths::admin_reset_link(user.id)
            } else {
                paths::admin_setup_link(user.id)
            };
            let answer = crate::api::call(crate::api::Method::POST, &path, None).await;
            match answer.and_then(crate::api::decode::<SetupLink>) {
                Ok(issued) => {
                    toasts.success(format!("New link for {} issued.", issued.user.display_name));
                    link.set(Some(issued));
                }
                Err(e) => toasts.error(e.message),
            }
            link_busy.set(false);
            link_dialog.set(false);
            reload();
        });
    };
    let ask_link = move |user: UserAdminView| {
        if user.has_password {
            linking.set(Some(user));
            link_dialog.set(true);
        } else {
            issue_link(user);
        }
    };
    let link_warning = Signal::derive(move || {
        linking
            .read()
            .as_ref()
            .map(|u| messages::reset_warning(&u.display_name))
            .unwrap_or_default()
    });
    view! {
        <OrganizationTabs/>
        <section>
            <h2 id="users-title">"Users"</h2>
            {page.error_view()}
            <div class="table-scroll" role="region" aria-label="Users" tabindex="0">
            <table class="admin-table" aria-label="Users">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Credentials"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || page.data().map(|p| p.users).unwrap_or_default().into_iter().map(|user| {
                        let (u1, u2, u3) = (user.clone(), user.clone(), user.clone());
                        let name_id = format!("user-{}-name", user.id);
                        let has_password = user.has_password;
                        let (role, active) = (user.role, user.active);
                        let other_role = if role == Role::Admin { Role::Staff } else { Role::Admin };
                        let status = match (active, user.has_password) {
                            (false, _) => "Deactivated",
                            (true, false) => "Invited (no password yet)",
                            (true, true) => "Active",
                        };
                        view! {
                            <tr>
                                <th scope="row" id=name_id.clone()>{user.display_name.clone()}</th>
                                <td>{user.email.clone()}</td>
                                <td>{if role == Role::Admin { "Admin" } else { "Staff" }}</td>
                                <td>{status}</td>
                                <td>{user.credentials}</td>
                                <td class="actions">
                                    // Each button is named by its text; the row's name describes it.
                                    <button type="button" class="link" on:click=move |_| change(&u1, other_role, active)
                                        aria-describedby=name_id.clone()>
                                        {if other_role == Role::Admin { "Make admin" } else { "Make staff" }}
                                    </button>
                                    <button type="button" class=if active { "link danger" } else { "link" } on:click=move |_| change(&u2, role, !active)
                                        aria-describedby=name_id.clone()>
                                        {if active { "Deactivate" } else { "Reactivate" }}
                                    </button>
                                    // One's own password is changed in Manage account.
                                    {(active && Some(user.id) != me).then(|| view! {
                                        <button type="button" class=if has_password { "link danger" } else { "link" } on:click=move |_| ask_link(u3.clone())
                                            aria-describedby=name_id.clone()>
                                            {if has_password { "Reset password" } else { "New set-up link" }}
                                        </button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            {changes.dialog("deactivate-user", "Deactivate this user?", "Yes, deactivate")}
            <crate::components::confirm_dialog::ConfirmDialog
                id="reset-password".to_owned()
                open=link_dialog
                title="Reset this user's password?"
                body=link_warning
                confirm_label="Yes, reset"
                busy=link_busy.into()
                on_confirm=Callback::new(move |()| {
                    if let Some(user) = linking.get_untracked() {
                        issue_link(user);
                    }
                })
            />
            <AddUser link on_added=Callback::new(move |()| reload())/>
            {move || link.get().map(|l| view! {
                <div class="card" role="region" aria-label=if l.user.has_password { "Password reset link" } else { "Set-up link" }>
                    <p>{if l.user.has_password {
                        format!("Give {} this link to choose a new password. It works once, for 24 hours; their old password works until they use it:", l.user.display_name)
                    } else {
                        format!("Give {} this link to choose a password. It works once, for 24 hours:", l.user.display_name)
                    }}</p>
                    <input type="text" readonly aria-label=if l.user.has_password { "Password reset link" } else { "Set-up link" } prop:value=l.url.clone()/>
                </div>
            })}
        </section>
    }
}

/// "Add user": email, name and role.
#[component]
fn AddUser(link: RwSignal<Option<SetupLink>>, on_added: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_owned());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = NewUserRequest {
            email: email.get_untracked(),
            display_name: name.get_untracked(),
            role: role.get_untracked(),
        };
        let checked = request.parse().map(|_| request);
        submit(busy, errors, toasts, checked, move |request| async move {
            let added: SetupLink =
                send(crate::api::Method::POST, paths::ADMIN_USERS, &request).await?;
            toasts.success(format!("{} added.", added.user.display_name));
            email.set(String::new());
            name.set(String::new());
            link.set(Some(added));
            on_added.run(());
            Ok(())
        });
    };
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-labelledby="add-user-title">
            <h3 id="add-user-title">"Add user"</h3>
            <TextField id="email" label="Email" input_type="email" value=email error=error_for(errors, "email")/>
            <TextField id="display_name" label="Name" value=name error=error_for(errors, "display_name")/>
            <label for="role">"Role"</label>
            <select id="role" bind:value=role>
                <option value="staff">"Staff"</option>
                <option value="admin">"Admin"</option>
            </select>
            <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Adding…" } else { "Add user" }}
            </button>
        </form>
    }
}
