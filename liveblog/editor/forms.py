"""The editor's forms. They parse and check input; the services decide and write."""

import copy
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from liveblog.blog import selectors, services, zones
from liveblog.blog.models import ApiToken, Event, Image, Membership, Post, max_length

MODERATION_FIELDS = ("is_key_event", "is_pinned")


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


# What a reporter types for a time of today: "10:30", "22:30", "10:30 pm", "10:30pm".
TIME_OF_DAY_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p")
SHOWN_FORMAT = "%Y-%m-%d %H:%M"


def _time_of_day(value: str) -> time | None:
    # "p.m."/"a.m." (Django's own `P` style, the one the pages show) read as strptime's %p.
    text = value.strip().lower().replace(".", "").replace("am", " AM").replace("pm", " PM")
    text = " ".join(text.split())
    for fmt in TIME_OF_DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


class EventTimeField(forms.DateTimeField):
    """A time read and shown in the event's zone, not the server's; a time alone is today's.

    A text input, not `datetime-local`: Chromium's datetime-local sends "" until the date is
    filled in too, so a reporter typing only 10:30 published "now" without a word. Django
    converts naive input with the *current* zone; overriding it around parsing and display
    keeps "10:30" meaning 10:30 where the event happens.
    """

    widget = forms.DateTimeInput(
        attrs={"autocomplete": "off", "spellcheck": "false", "data-time": ""},
        format=SHOWN_FORMAT,
    )
    default_error_messages = {
        "invalid": "Type a time such as 10:30 or 10:30 pm, or a date and time (2025-03-01 10:30).",
    }

    def __init__(self, *, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        self.tz = tz
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and (when := _time_of_day(value)) is not None:
            today = timezone.localdate(timezone=self.tz)
            value = f"{today.isoformat()} {when.isoformat()}"
        with timezone.override(self.tz):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        with timezone.override(self.tz):
            return super().prepare_value(value)


ALT_REQUIRED = "Alt text is required to publish: describe the photo, or tick Decorative."


class ImageTextForm(forms.Form):
    """What is said of one photo of an entry. Used with prefix `image-<id>`, so its inputs
    are named `image-<id>-alt` etc. both here (the upload answer's item) and in PostForm,
    which holds the same fields for each photo of the entry."""

    alt = forms.CharField(
        label="Alt text",
        required=False,
        max_length=max_length(Image, "alt"),
        help_text="What the photo shows, for people who cannot see it.",
    )
    decorative = forms.BooleanField(
        required=False, label="Decorative: the photo adds nothing to the text"
    )
    # Labels given: PostForm names its copies image-<id>-caption, which Django would show.
    caption = forms.CharField(
        label="Caption", required=False, max_length=max_length(Image, "caption")
    )
    credit = forms.CharField(label="Credit", required=False, max_length=max_length(Image, "credit"))

    @staticmethod
    def initial_of(image: Image) -> dict[str, Any]:
        return {name: getattr(image, name) for name in ImageTextForm.base_fields}


@dataclass
class ImageItem:
    """One photo of the form, for editor/_image_item.html: its stored image (None for an id
    that is not one of the event's: the service says so) and its bound fields."""

    pk: int
    image: Image | None
    fields: dict[str, forms.BoundField]


def image_item(image: Image) -> ImageItem:
    """A newly uploaded photo's item, as the composer's script inserts it."""
    form = ImageTextForm(prefix=f"image-{image.pk}", initial=ImageTextForm.initial_of(image))
    return ImageItem(pk=image.pk, image=image, fields={name: form[name] for name in form.fields})


def _image_ids(values: list[str]) -> list[int] | None:
    """The `images` inputs in order, or None when one is not an id."""
    try:
        ids = [int(value) for value in values]
    except ValueError:
        return None
    return ids if all(pk > 0 for pk in ids) else None


class PostForm(forms.Form):
    """An entry, new or edited. `moderator` says whether key event and pin are offered."""

    headline = forms.CharField(
        required=False,
        max_length=settings.LIVEBLOG_MAX_HEADLINE_CHARS,
        help_text="Shown in bold above the entry and used as its title in feeds.",
    )
    body = forms.CharField(
        label="Entry",
        max_length=settings.LIVEBLOG_MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 10, "data-body": ""}),
        help_text="Markdown: **bold**, _italic_, [link](https://…), > quote (a last line"
        ' "— Name" credits the speaker), - list. A video or post URL alone on a line embeds it.',
        error_messages={"required": "An entry needs a body."},
        strip=False,
    )
    is_key_event = forms.BooleanField(required=False, label="Key event")
    is_pinned = forms.BooleanField(required=False, label="Pin to the top")
    is_breaking = forms.BooleanField(
        required=False, label="Breaking", help_text="Shown with a strong “Breaking” label."
    )
    # One per rendered form: a double-clicked "Publish" creates one entry, not two.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # The entry's version the edit form was loaded at (optimistic locking): a save based on
    # an older one is refused (services.StaleVersion). Absent: no check (the composer).
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        min_value=1,
        error_messages={"invalid": "The form's version is not valid: reload the page."},
    )

    def __init__(
        self,
        *args: Any,
        event: Event,
        moderator: bool,
        post: Post | None = None,
        publishing: bool = False,
        **kwargs: Any,
    ) -> None:
        if post is not None:
            kwargs.setdefault(
                "initial",
                {
                    "headline": post.headline,
                    "body": post.body,
                    "published_at": post.published_at,
                    "is_key_event": post.is_key_event,
                    "is_pinned": post.is_pinned,
                    "is_breaking": post.is_breaking,
                    "version": post.version,
                },
            )
        else:
            kwargs.setdefault("initial", {"token": self.new_token()})
        super().__init__(*args, **kwargs)
        self.moderator = moderator
        self.fields["published_at"] = EventTimeField(
            tz=event.tz,
            required=False,
            label=f"Time ({event.timezone})",
            help_text=(
                "Leave empty for now. To backdate, type a time of today (10:30, 10:30 pm)"
                " or a date and time (2025-03-01 10:30); a time ahead schedules the entry."
            ),
        )
        if not moderator:
            for name in MODERATION_FIELDS:
                self.fields[name].disabled = True
        self.publishing = publishing
        self._add_image_fields(event, post)

    def _add_image_fields(self, event: Event, post: Post | None) -> None:
        """The photos' fields (ImageTextForm's, named image-<id>-<field>), for the ids the
        form posts in order (`images`), or the edited entry's photos."""
        stored = list(post.ordered_images) if post is not None else []
        if self.is_bound:
            posted = forms.MultipleHiddenInput().value_from_datadict(
                self.data, self.files, self.add_prefix("images")
            )
            ids = _image_ids(posted or [])
            self.image_ids_invalid = ids is None
            self.image_ids = ids or []
            found = selectors.event_images(event, self.image_ids)
        else:
            self.image_ids_invalid = False
            self.image_ids = [image.pk for image in stored]
            found = {image.pk: image for image in stored}
        self.image_items: list[ImageItem] = []
        for pk in self.image_ids:
            image = found.get(pk)
            prefix = f"image-{pk}"
            for name, field in ImageTextForm.base_fields.items():
                # A copy per photo, as Form copies its base_fields: fields must not share widgets.
                self.fields[f"{prefix}-{name}"] = copy.deepcopy(field)
                if image is not None and not self.is_bound:
                    self.initial[f"{prefix}-{name}"] = getattr(image, name)
            fields = {name: self[f"{prefix}-{name}"] for name in ImageTextForm.base_fields}
            self.image_items.append(ImageItem(pk=pk, image=image, fields=fields))

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex

    def clean_body(self) -> str:
        # Browsers send textarea lines with CRLF; store what the API stores.
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.moderator:
            for name in MODERATION_FIELDS:
                submitted = self.fields[name].widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(name)
                )
                if submitted and not self.get_initial_for_field(self.fields[name], name):
                    # A refusal, not a mistake to correct: the checkboxes are disabled for
                    # non-editors, so only a crafted request gets here, and SPEC §4 answers
                    # it 403 (the view's refusals_as_403) rather than a re-rendered form.
                    raise PermissionDenied("Only editors can pin entries or mark key events.")
        if self.image_ids_invalid:
            raise ValidationError("The photos sent with the entry are not valid: reload the page.")
        cleaned["images"] = [(pk, self._image_text(cleaned, pk)) for pk in self.image_ids]
        return cleaned

    def _image_text(self, cleaned: dict[str, Any], pk: int) -> services.ImageText:
        names = {name: f"image-{pk}-{name}" for name in ImageTextForm.base_fields}
        text = services.ImageText(
            alt=cleaned.get(names["alt"]) or "",
            caption=cleaned.get(names["caption"]) or "",
            credit=cleaned.get(names["credit"]) or "",
            decorative=bool(cleaned.get(names["decorative"])),
        )
        # Said here, beside the photo's field; the service refuses it too (the authority).
        if self.publishing and not text.decorative and not text.alt.strip():
            self.add_error(names["alt"], ALT_REQUIRED)
        return text

    def status_for(self, status: str, post: Post | None = None) -> str:
        """What the pressed button means with the time typed: the server decides, whatever
        the button's label said. A new entry published with a time ahead is scheduled for
        then (a typed time is a choice, not a fast clock: no tolerance); an edited scheduled
        entry stays scheduled (the Scheduled panel publishes it now)."""
        if status != Post.Status.PUBLISHED:
            return status
        if post is not None:
            return Post.Status.SCHEDULED if post.status == Post.Status.SCHEDULED else status
        when = self.cleaned_data.get("published_at")
        return Post.Status.SCHEDULED if when and when > timezone.now() else status

    def images_differ(self, post: Post) -> bool:
        """Whether the photos (order, texts) differ from the stored entry's."""
        stored = post.ordered_images
        if [image.pk for image in stored] != self.image_ids:
            return True
        texts = dict(self.cleaned_data["images"])
        return any(
            ImageTextForm.initial_of(image)
            != {
                "alt": texts[image.pk].alt,
                "decorative": texts[image.pk].decorative,
                "caption": texts[image.pk].caption,
                "credit": texts[image.pk].credit,
            }
            for image in stored
        )

    def changes_to(self, post: Post) -> dict[str, Any]:
        """The fields that differ from the stored post, as `post_update` takes them."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        for name in ("headline", "body", "is_breaking"):
            if data[name] != getattr(post, name):
                changes[name] = data[name]
        when = data.get("published_at")
        # The input has minute precision: an untouched time must not move the entry.
        if when and _minute(when) != _minute(post.published_at):
            changes["published_at"] = when
        if self.moderator:
            for name in MODERATION_FIELDS:
                if data[name] != getattr(post, name):
                    changes[name] = data[name]
        return changes


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


class EventMomentField(EventTimeField):
    """An event's own time (its start, its automatic end) in its zone: unlike an entry's,
    it may be ahead (the services say which may be)."""

    def validate(self, value: Any) -> None:
        forms.DateTimeField.validate(self, value)


# The event's times as the settings form offers them: (name, label, help).
EVENT_TIMES = (
    ("starts_at", "Starts at", "When the coverage starts. Set by Go live when left empty."),
    (
        "ends_at",
        "Automatic end",
        "Leave empty to end the event with End event. A time ahead ends it by itself then.",
    ),
)


TIME_NAMES = frozenset(name for name, _label, _help in EVENT_TIMES)


def _event_time_fields(form: forms.Form, tz: zoneinfo.ZoneInfo, zone: str) -> None:
    for name, label, help_text in EVENT_TIMES:
        form.fields[name] = EventMomentField(
            tz=tz,
            required=False,
            label=f"{label} ({zone})",
            help_text=f"{help_text} A date and time (2025-03-01 10:30) or a time of today.",
        )


def _zone_posted(data: Any, fallback: str) -> str:
    """The zone a form's times are read in: the one posted when it is a zone we offer."""
    posted = data.get("timezone") if data is not None else None
    return posted if posted in zones.timezones() else fallback


class EventSettingsForm(forms.Form):
    title = forms.CharField(max_length=max_length(Event, "title"))
    summary = forms.CharField(
        required=False,
        max_length=max_length(Event, "summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The lede shown under the title.",
    )
    key_points = forms.CharField(
        label="Key points",
        required=False,
        max_length=max_length(Event, "key_points"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="The summary box at the top of the page. Markdown: - one point per line.",
    )
    status = forms.ChoiceField(choices=Event.Status.choices)
    timezone = forms.ChoiceField(label="Time zone", help_text="Entry times are shown in this zone.")
    order = forms.ChoiceField(
        label="Reading order", choices=Event.Order.choices, widget=forms.RadioSelect
    )

    # The event's version the form was loaded at (optimistic locking): a save based on an
    # older one is refused (services.StaleEventVersion) and shown beside what was typed.
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        min_value=1,
        error_messages={"invalid": "The form's version is not valid: reload the page."},
    )

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        names = (*self.base_fields, *TIME_NAMES)
        kwargs.setdefault("initial", {name: getattr(event, name) for name in names})
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = zones.timezone_choices(event.timezone)  # type: ignore[attr-defined]
        # Read in the zone they were shown in (the event's), whatever zone is chosen now.
        _event_time_fields(self, event.tz, event.timezone)

    def changes(self) -> dict[str, Any]:
        """What differs from the event as loaded; times at the input's minute precision, so
        that an untouched start (set to the second by Go live) is no change."""
        changes: dict[str, Any] = {}
        for name in self.changed_data:
            if name == "version":
                continue
            value = self.cleaned_data[name]
            if name in TIME_NAMES:
                before = self.initial.get(name)
                if value is not None and before is not None and _minute(value) == _minute(before):
                    continue
            changes[name] = value
        return changes


class NewEventForm(forms.Form):
    """An event created from the editor (admins): what services.event_create takes."""

    title = forms.CharField(max_length=max_length(Event, "title"))
    slug = forms.SlugField(
        required=False,
        max_length=max_length(Event, "slug"),
        help_text="Its address: /events/<slug>/. Left empty, it is made from the title.",
    )
    summary = forms.CharField(
        required=False,
        max_length=max_length(Event, "summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The lede shown under the title.",
    )
    timezone = forms.ChoiceField(
        label="Time zone", initial="UTC", help_text="Entry times are shown in this zone."
    )
    order = forms.ChoiceField(
        label="Reading order",
        choices=Event.Order.choices,
        initial=Event.Order.NEWEST,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = zones.timezone_choices()  # type: ignore[attr-defined]
        zone = _zone_posted(self.data if self.is_bound else None, "UTC")
        # Nothing was shown in another zone yet: the start is read in the zone chosen.
        self.fields["starts_at"] = EventMomentField(
            tz=zoneinfo.ZoneInfo(zone),
            required=False,
            label="Starts at (in the event's time zone)",
            help_text="A date and time (2025-03-01 10:30) or a time of today. Optional.",
        )

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "slug": data["slug"] or None,
            "summary": data["summary"],
            "timezone_name": data["timezone"],
            "order": data["order"],
            "starts_at": data.get("starts_at"),
        }


class MemberForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=max_length(get_user_model(), get_user_model().USERNAME_FIELD),
        help_text="Type a username, or part of a name to pick from the matches.",
        widget=forms.TextInput(
            attrs={"list": "member-suggestions", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    role = forms.ChoiceField(choices=Membership.Role.choices)

    def clean_username(self) -> AbstractBaseUser:
        username = self.cleaned_data["username"].strip()
        user = selectors.user_by_username(username)
        if user is None:
            raise ValidationError("No active user has this username.")
        return user


class MemberRoleForm(forms.Form):
    """A member's new role (the members list's select, one form per member)."""

    role = forms.ChoiceField(choices=Membership.Role.choices)


class TokenForm(forms.Form):
    """A new API token: what it is for, and when it stops working."""

    # Offered expiries, in days; "" is none (the token lasts until revoked).
    EXPIRY_CHOICES = [
        ("7", "In 7 days"),
        ("30", "In 30 days"),
        ("90", "In 90 days"),
        ("365", "In a year"),
        ("", "Never (until revoked)"),
    ]

    name = forms.CharField(
        max_length=max_length(ApiToken, "name"),
        help_text="What the token is for, e.g. the script that uses it.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )


class ScheduleForm(forms.Form):
    """A scheduled entry's controls in the composer's Scheduled panel."""

    ACTIONS = (("reschedule", "Reschedule"), ("publish", "Publish now"), ("cancel", "Cancel"))

    action = forms.ChoiceField(choices=ACTIONS)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["published_at"] = EventTimeField(
            tz=event.tz, required=False, label=f"New time ({event.timezone})"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == "reschedule" and not cleaned.get("published_at"):
            self.add_error("published_at", "Type the new time to reschedule it for.")
        return cleaned
