import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATE_UNSPECIFIED: _ClassVar[ExecutionState]
    EXECUTION_STATE_QUEUED: _ClassVar[ExecutionState]
    EXECUTION_STATE_RUNNING: _ClassVar[ExecutionState]
    EXECUTION_STATE_SUCCEEDED: _ClassVar[ExecutionState]
    EXECUTION_STATE_FAILED: _ClassVar[ExecutionState]
    EXECUTION_STATE_CANCELLED: _ClassVar[ExecutionState]
    EXECUTION_STATE_TIMED_OUT: _ClassVar[ExecutionState]
    EXECUTION_STATE_INTERRUPTED: _ClassVar[ExecutionState]

class NodeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATUS_UNSPECIFIED: _ClassVar[NodeStatus]
    NODE_STATUS_RUNNING: _ClassVar[NodeStatus]
    NODE_STATUS_COMPLETED: _ClassVar[NodeStatus]
    NODE_STATUS_FAILED: _ClassVar[NodeStatus]

class EstimateBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTIMATE_BASIS_UNSPECIFIED: _ClassVar[EstimateBasis]
    ESTIMATE_BASIS_PROGRESS: _ClassVar[EstimateBasis]
    ESTIMATE_BASIS_HISTORY: _ClassVar[EstimateBasis]
    ESTIMATE_BASIS_PROGRESS_AND_HISTORY: _ClassVar[EstimateBasis]

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_STREAM_UNSPECIFIED: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDOUT: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDERR: _ClassVar[OutputStream]

class DaemonRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAEMON_ROLE_UNSPECIFIED: _ClassVar[DaemonRole]
    DAEMON_ROLE_WRITER: _ClassVar[DaemonRole]
    DAEMON_ROLE_STANDBY: _ClassVar[DaemonRole]

class DropFolderMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DROP_FOLDER_MODE_UNSPECIFIED: _ClassVar[DropFolderMode]
    DROP_FOLDER_MODE_MANIFEST: _ClassVar[DropFolderMode]
    DROP_FOLDER_MODE_DISK: _ClassVar[DropFolderMode]

class ManifestFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANIFEST_FORMAT_UNSPECIFIED: _ClassVar[ManifestFormat]
    MANIFEST_FORMAT_JSON: _ClassVar[ManifestFormat]
    MANIFEST_FORMAT_YAML: _ClassVar[ManifestFormat]
    MANIFEST_FORMAT_DETECT: _ClassVar[ManifestFormat]

class ManifestKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANIFEST_KIND_UNSPECIFIED: _ClassVar[ManifestKind]
    MANIFEST_KIND_SINGLE: _ClassVar[ManifestKind]
    MANIFEST_KIND_BATCH: _ClassVar[ManifestKind]
    MANIFEST_KIND_ARTIFACT_V1: _ClassVar[ManifestKind]

class ScheduleOverlapPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_OVERLAP_POLICY_UNSPECIFIED: _ClassVar[ScheduleOverlapPolicy]
    SCHEDULE_OVERLAP_POLICY_SKIP: _ClassVar[ScheduleOverlapPolicy]
    SCHEDULE_OVERLAP_POLICY_BUFFER_ONE: _ClassVar[ScheduleOverlapPolicy]
    SCHEDULE_OVERLAP_POLICY_ALLOW_ALL: _ClassVar[ScheduleOverlapPolicy]
    SCHEDULE_OVERLAP_POLICY_CANCEL_PREVIOUS: _ClassVar[ScheduleOverlapPolicy]

class ScheduleCatchUpPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_CATCH_UP_POLICY_UNSPECIFIED: _ClassVar[ScheduleCatchUpPolicy]
    SCHEDULE_CATCH_UP_POLICY_START_ONE: _ClassVar[ScheduleCatchUpPolicy]
    SCHEDULE_CATCH_UP_POLICY_SKIP: _ClassVar[ScheduleCatchUpPolicy]

class ScheduleRunOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_RUN_OUTCOME_UNSPECIFIED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_STARTED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_SKIPPED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_BUFFERED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_MISSED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_FAILED: _ClassVar[ScheduleRunOutcome]

class WebhookEvent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_EVENT_UNSPECIFIED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_EXECUTION_SUCCEEDED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_EXECUTION_FAILED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_EXECUTION_CANCELLED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_EXECUTION_TIMED_OUT: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_EXECUTION_INTERRUPTED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_BATCH_FINISHED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_SCHEDULE_MISSED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_SCHEDULE_FAILED: _ClassVar[WebhookEvent]
    WEBHOOK_EVENT_DROP_FILE_FAILED: _ClassVar[WebhookEvent]

class WebhookDeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_DELIVERY_STATE_UNSPECIFIED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_PENDING: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_DELIVERED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_FAILED: _ClassVar[WebhookDeliveryState]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]
EXECUTION_STATE_UNSPECIFIED: ExecutionState
EXECUTION_STATE_QUEUED: ExecutionState
EXECUTION_STATE_RUNNING: ExecutionState
EXECUTION_STATE_SUCCEEDED: ExecutionState
EXECUTION_STATE_FAILED: ExecutionState
EXECUTION_STATE_CANCELLED: ExecutionState
EXECUTION_STATE_TIMED_OUT: ExecutionState
EXECUTION_STATE_INTERRUPTED: ExecutionState
NODE_STATUS_UNSPECIFIED: NodeStatus
NODE_STATUS_RUNNING: NodeStatus
NODE_STATUS_COMPLETED: NodeStatus
NODE_STATUS_FAILED: NodeStatus
ESTIMATE_BASIS_UNSPECIFIED: EstimateBasis
ESTIMATE_BASIS_PROGRESS: EstimateBasis
ESTIMATE_BASIS_HISTORY: EstimateBasis
ESTIMATE_BASIS_PROGRESS_AND_HISTORY: EstimateBasis
OUTPUT_STREAM_UNSPECIFIED: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_STDERR: OutputStream
DAEMON_ROLE_UNSPECIFIED: DaemonRole
DAEMON_ROLE_WRITER: DaemonRole
DAEMON_ROLE_STANDBY: DaemonRole
DROP_FOLDER_MODE_UNSPECIFIED: DropFolderMode
DROP_FOLDER_MODE_MANIFEST: DropFolderMode
DROP_FOLDER_MODE_DISK: DropFolderMode
MANIFEST_FORMAT_UNSPECIFIED: ManifestFormat
MANIFEST_FORMAT_JSON: ManifestFormat
MANIFEST_FORMAT_YAML: ManifestFormat
MANIFEST_FORMAT_DETECT: ManifestFormat
MANIFEST_KIND_UNSPECIFIED: ManifestKind
MANIFEST_KIND_SINGLE: ManifestKind
MANIFEST_KIND_BATCH: ManifestKind
MANIFEST_KIND_ARTIFACT_V1: ManifestKind
SCHEDULE_OVERLAP_POLICY_UNSPECIFIED: ScheduleOverlapPolicy
SCHEDULE_OVERLAP_POLICY_SKIP: ScheduleOverlapPolicy
SCHEDULE_OVERLAP_POLICY_BUFFER_ONE: ScheduleOverlapPolicy
SCHEDULE_OVERLAP_POLICY_ALLOW_ALL: ScheduleOverlapPolicy
SCHEDULE_OVERLAP_POLICY_CANCEL_PREVIOUS: ScheduleOverlapPolicy
SCHEDULE_CATCH_UP_POLICY_UNSPECIFIED: ScheduleCatchUpPolicy
SCHEDULE_CATCH_UP_POLICY_START_ONE: ScheduleCatchUpPolicy
SCHEDULE_CATCH_UP_POLICY_SKIP: ScheduleCatchUpPolicy
SCHEDULE_RUN_OUTCOME_UNSPECIFIED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_STARTED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_SKIPPED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_BUFFERED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_MISSED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_FAILED: ScheduleRunOutcome
WEBHOOK_EVENT_UNSPECIFIED: WebhookEvent
WEBHOOK_EVENT_EXECUTION_SUCCEEDED: WebhookEvent
WEBHOOK_EVENT_EXECUTION_FAILED: WebhookEvent
WEBHOOK_EVENT_EXECUTION_CANCELLED: WebhookEvent
WEBHOOK_EVENT_EXECUTION_TIMED_OUT: WebhookEvent
WEBHOOK_EVENT_EXECUTION_INTERRUPTED: WebhookEvent
WEBHOOK_EVENT_BATCH_FINISHED: WebhookEvent
WEBHOOK_EVENT_SCHEDULE_MISSED: WebhookEvent
WEBHOOK_EVENT_SCHEDULE_FAILED: WebhookEvent
WEBHOOK_EVENT_DROP_FILE_FAILED: WebhookEvent
WEBHOOK_DELIVERY_STATE_UNSPECIFIED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_PENDING: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_DELIVERED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_FAILED: WebhookDeliveryState
ROLE_UNSPECIFIED: Role
ROLE_VIEWER: Role
ROLE_OPERATOR: Role
ROLE_ADMIN: Role

class Workflow(_message.Message):
    __slots__ = ("id", "name", "description", "schema_version", "fields", "input_json_schema", "program_path", "discover_time", "namespaces")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_PATH_FIELD_NUMBER: _ClassVar[int]
    DISCOVER_TIME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    schema_version: str
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    input_json_schema: str
    program_path: str
    discover_time: _timestamp_pb2.Timestamp
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., schema_version: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., input_json_schema: _Optional[str] = ..., program_path: _Optional[str] = ..., discover_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("name", "label", "description", "cli_arg", "required", "default_value", "required_for_phases", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CLI_ARG_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FOR_PHASES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    label: str
    description: str
    cli_arg: str
    required: bool
    default_value: str
    required_for_phases: _containers.RepeatedScalarFieldContainer[int]
    type: FieldType
    def __init__(self, name: _Optional[str] = ..., label: _Optional[str] = ..., description: _Optional[str] = ..., cli_arg: _Optional[str] = ..., required: _Optional[bool] = ..., default_value: _Optional[str] = ..., required_for_phases: _Optional[_Iterable[int]] = ..., type: _Optional[_Union[FieldType, _Mapping]] = ...) -> None: ...

class FieldType(_message.Message):
    __slots__ = ("text", "number", "file_path", "select", "phase_selector", "state_file")
    class Text(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    class Number(_message.Message):
        __slots__ = ("min", "max")
        MIN_FIELD_NUMBER: _ClassVar[int]
        MAX_FIELD_NUMBER: _ClassVar[int]
        min: int
        max: int
        def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...
    class FilePath(_message.Message):
        __slots__ = ("pattern",)
        PATTERN_FIELD_NUMBER: _ClassVar[int]
        pattern: str
        def __init__(self, pattern: _Optional[str] = ...) -> None: ...
    class Select(_message.Message):
        __slots__ = ("options",)
        OPTIONS_FIELD_NUMBER: _ClassVar[int]
        options: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, options: _Optional[_Iterable[str]] = ...) -> None: ...
    class PhaseSelector(_message.Message):
        __slots__ = ("total_phases",)
        TOTAL_PHASES_FIELD_NUMBER: _ClassVar[int]
        total_phases: int
        def __init__(self, total_phases: _Optional[int] = ...) -> None: ...
    class StateFile(_message.Message):
        __slots__ = ("pattern", "phase")
        PATTERN_FIELD_NUMBER: _ClassVar[int]
        PHASE_FIELD_NUMBER: _ClassVar[int]
        pattern: str
        phase: int
        def __init__(self, pattern: _Optional[str] = ..., phase: _Optional[int] = ...) -> None: ...
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    SELECT_FIELD_NUMBER: _ClassVar[int]
    PHASE_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FILE_FIELD_NUMBER: _ClassVar[int]
    text: FieldType.Text
    number: FieldType.Number
    file_path: FieldType.FilePath
    select: FieldType.Select
    phase_selector: FieldType.PhaseSelector
    state_file: FieldType.StateFile
    def __init__(self, text: _Optional[_Union[FieldType.Text, _Mapping]] = ..., number: _Optional[_Union[FieldType.Number, _Mapping]] = ..., file_path: _Optional[_Union[FieldType.FilePath, _Mapping]] = ..., select: _Optional[_Union[FieldType.Select, _Mapping]] = ..., phase_selector: _Optional[_Union[FieldType.PhaseSelector, _Mapping]] = ..., state_file: _Optional[_Union[FieldType.StateFile, _Mapping]] = ...) -> None: ...

class DiscoveryError(_message.Message):
    __slots__ = ("program_path", "message", "discover_time")
    PROGRAM_PATH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DISCOVER_TIME_FIELD_NUMBER: _ClassVar[int]
    program_path: str
    message: str
    discover_time: _timestamp_pb2.Timestamp
    def __init__(self, program_path: _Optional[str] = ..., message: _Optional[str] = ..., discover_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "namespace")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    namespace: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "next_page_token", "discovery_errors", "programs_probing")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_PROBING_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[Workflow]
    next_page_token: str
    discovery_errors: _containers.RepeatedCompositeFieldContainer[DiscoveryError]
    programs_probing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workflows: _Optional[_Iterable[_Union[Workflow, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., discovery_errors: _Optional[_Iterable[_Union[DiscoveryError, _Mapping]]] = ..., programs_probing: _Optional[_Iterable[str]] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    def __init__(self, workflow_id: _Optional[str] = ...) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ("workflow",)
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workflow: Workflow
    def __init__(self, workflow: _Optional[_Union[Workflow, _Mapping]] = ...) -> None: ...

class ValidateInputsRequest(_message.Message):
    __slots__ = ("workflow_id", "inputs")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    inputs: _containers.MessageMap[str, _struct_pb2.Value]
    def __init__(self, workflow_id: _Optional[str] = ..., inputs: _Optional[_Mapping[str, _struct_pb2.Value]] = ...) -> None: ...

class ValidateInputsResponse(_message.Message):
    __slots__ = ("resolved_inputs", "argv")
    class ResolvedInputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RESOLVED_INPUTS_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    resolved_inputs: _containers.ScalarMap[str, str]
    argv: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, resolved_inputs: _Optional[_Mapping[str, str]] = ..., argv: _Optional[_Iterable[str]] = ...) -> None: ...

class ExecuteRequest(_message.Message):
    __slots__ = ("workflow_id", "inputs", "request_id", "timeout", "labels", "retry_policy", "limits", "namespace")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    inputs: _containers.MessageMap[str, _struct_pb2.Value]
    request_id: str
    timeout: _duration_pb2.Duration
    labels: _containers.ScalarMap[str, str]
    retry_policy: RetryPolicy
    limits: ResourceLimits
    namespace: str
    def __init__(self, workflow_id: _Optional[str] = ..., inputs: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., request_id: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., limits: _Optional[_Union[ResourceLimits, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class ResourceLimits(_message.Message):
    __slots__ = ("memory_bytes", "cpu_time", "max_processes", "max_output_bytes", "max_open_files")
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_PROCESSES_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_OPEN_FILES_FIELD_NUMBER: _ClassVar[int]
    memory_bytes: int
    cpu_time: _duration_pb2.Duration
    max_processes: int
    max_output_bytes: int
    max_open_files: int
    def __init__(self, memory_bytes: _Optional[int] = ..., cpu_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_processes: _Optional[int] = ..., max_output_bytes: _Optional[int] = ..., max_open_files: _Optional[int] = ...) -> None: ...

class ResourceUsage(_message.Message):
    __slots__ = ("peak_memory_bytes", "cpu_time")
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_FIELD_NUMBER: _ClassVar[int]
    peak_memory_bytes: int
    cpu_time: _duration_pb2.Duration
    def __init__(self, peak_memory_bytes: _Optional[int] = ..., cpu_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "initial_interval", "backoff_coefficient", "maximum_interval", "non_retryable_exit_codes")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_EXIT_CODES_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    initial_interval: _duration_pb2.Duration
    backoff_coefficient: float
    maximum_interval: _duration_pb2.Duration
    non_retryable_exit_codes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, max_attempts: _Optional[int] = ..., initial_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_coefficient: _Optional[float] = ..., maximum_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., non_retryable_exit_codes: _Optional[_Iterable[int]] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("execution", "started")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    started: bool
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ..., started: _Optional[bool] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("id", "workflow_id", "workflow_name", "state", "create_time", "start_time", "end_time", "exit_code", "signal", "error", "inputs", "argv", "labels", "request_id", "timeout", "phases", "artifacts", "log_counts", "pid", "batch_id", "current_phase", "estimate", "schedule_id", "scheduled_time", "retry_policy", "attempt", "first_attempt_id", "next_attempt_id", "next_attempt_time", "limits", "usage", "namespace")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    LOG_COUNTS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PHASE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    workflow_id: str
    workflow_name: str
    state: ExecutionState
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    exit_code: int
    signal: int
    error: str
    inputs: _containers.ScalarMap[str, str]
    argv: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    request_id: str
    timeout: _duration_pb2.Duration
    phases: _containers.RepeatedCompositeFieldContainer[Phase]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    log_counts: LogCounts
    pid: int
    batch_id: str
    current_phase: str
    estimate: Estimate
    schedule_id: str
    scheduled_time: _timestamp_pb2.Timestamp
    retry_policy: RetryPolicy
    attempt: int
    first_attempt_id: str
    next_attempt_id: str
    next_attempt_time: _timestamp_pb2.Timestamp
    limits: ResourceLimits
    usage: ResourceUsage
    namespace: str
    def __init__(self, id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_name: _Optional[str] = ..., state: _Optional[_Union[ExecutionState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exit_code: _Optional[int] = ..., signal: _Optional[int] = ..., error: _Optional[str] = ..., inputs: _Optional[_Mapping[str, str]] = ..., argv: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., phases: _Optional[_Iterable[_Union[Phase, _Mapping]]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., log_counts: _Optional[_Union[LogCounts, _Mapping]] = ..., pid: _Optional[int] = ..., batch_id: _Optional[str] = ..., current_phase: _Optional[str] = ..., estimate: _Optional[_Union[Estimate, _Mapping]] = ..., schedule_id: _Optional[str] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., attempt: _Optional[int] = ..., first_attempt_id: _Optional[str] = ..., next_attempt_id: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limits: _Optional[_Union[ResourceLimits, _Mapping]] = ..., usage: _Optional[_Union[ResourceUsage, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class Estimate(_message.Message):
    __slots__ = ("progress", "remaining", "completion_time", "basis", "history_runs")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TIME_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_RUNS_FIELD_NUMBER: _ClassVar[int]
    progress: float
    remaining: _duration_pb2.Duration
    completion_time: _timestamp_pb2.Timestamp
    basis: EstimateBasis
    history_runs: int
    def __init__(self, progress: _Optional[float] = ..., remaining: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., completion_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., basis: _Optional[_Union[EstimateBasis, str]] = ..., history_runs: _Optional[int] = ...) -> None: ...

class BatchSummary(_message.Message):
    __slots__ = ("batch_id", "total", "queued", "running", "succeeded", "failed", "create_time", "end_time", "estimate")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    estimate: Estimate
    def __init__(self, batch_id: _Optional[str] = ..., total: _Optional[int] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimate: _Optional[_Union[Estimate, _Mapping]] = ...) -> None: ...

class LogCounts(_message.Message):
    __slots__ = ("total", "stdout_lines", "stderr_lines", "events", "malformed_events")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    STDOUT_LINES_FIELD_NUMBER: _ClassVar[int]
    STDERR_LINES_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    total: int
    stdout_lines: int
    stderr_lines: int
    events: int
    malformed_events: int
    def __init__(self, total: _Optional[int] = ..., stdout_lines: _Optional[int] = ..., stderr_lines: _Optional[int] = ..., events: _Optional[int] = ..., malformed_events: _Optional[int] = ...) -> None: ...

class Phase(_message.Message):
    __slots__ = ("index", "name", "total_phases", "status", "error", "tasks")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PHASES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    total_phases: int
    status: NodeStatus
    error: str
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., total_phases: _Optional[int] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., error: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_id", "description", "total_tasks", "status", "messages", "result", "error", "percent", "agents")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TASKS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    description: str
    total_tasks: int
    status: NodeStatus
    messages: _containers.RepeatedScalarFieldContainer[str]
    result: str
    error: str
    percent: int
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    def __init__(self, task_id: _Optional[str] = ..., description: _Optional[str] = ..., total_tasks: _Optional[int] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., messages: _Optional[_Iterable[str]] = ..., result: _Optional[str] = ..., error: _Optional[str] = ..., percent: _Optional[int] = ..., agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("name", "description", "status", "messages", "result", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    status: NodeStatus
    messages: _containers.RepeatedScalarFieldContainer[str]
    result: str
    error: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., messages: _Optional[_Iterable[str]] = ..., result: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("phase", "path", "description", "create_time")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    phase: int
    path: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, phase: _Optional[int] = ..., path: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    def __init__(self, execution_id: _Optional[str] = ...) -> None: ...

class GetExecutionResponse(_message.Message):
    __slots__ = ("execution", "batch")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    batch: BatchSummary
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ..., batch: _Optional[_Union[BatchSummary, _Mapping]] = ...) -> None: ...

class WaitExecutionRequest(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    def __init__(self, execution_id: _Optional[str] = ...) -> None: ...

class WaitExecutionResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "workflow_id", "states", "create_time_after", "create_time_before", "labels", "batch_id", "schedule_id", "namespace")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    workflow_id: str
    states: _containers.RepeatedScalarFieldContainer[ExecutionState]
    create_time_after: _timestamp_pb2.Timestamp
    create_time_before: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    batch_id: str
    schedule_id: str
    namespace: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., workflow_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[ExecutionState, str]]] = ..., create_time_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., batch_id: _Optional[str] = ..., schedule_id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token", "batch")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[Execution]
    next_page_token: str
    batch: BatchSummary
    def __init__(self, executions: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., batch: _Optional[_Union[BatchSummary, _Mapping]] = ...) -> None: ...

class StreamLogsRequest(_message.Message):
    __slots__ = ("execution_id", "from_sequence", "follow")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    from_sequence: int
    follow: bool
    def __init__(self, execution_id: _Optional[str] = ..., from_sequence: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class CreateStreamTokenRequest(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    def __init__(self, execution_id: _Optional[str] = ...) -> None: ...

class CreateStreamTokenResponse(_message.Message):
    __slots__ = ("token", "expire_time")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    token: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamLogsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: LogEvent
    def __init__(self, event: _Optional[_Union[LogEvent, _Mapping]] = ...) -> None: ...

class LogEvent(_message.Message):
    __slots__ = ("sequence", "time", "output", "phase_started", "phase_completed", "phase_failed", "task_started", "task_progress", "task_completed", "task_failed", "agent_started", "agent_message", "agent_completed", "agent_failed", "state_file_created", "raw_output", "queued", "started", "exited", "cancel_requested", "killed", "timed_out", "interrupted", "finished")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PHASE_STARTED_FIELD_NUMBER: _ClassVar[int]
    PHASE_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    PHASE_FAILED_FIELD_NUMBER: _ClassVar[int]
    TASK_STARTED_FIELD_NUMBER: _ClassVar[int]
    TASK_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TASK_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    TASK_FAILED_FIELD_NUMBER: _ClassVar[int]
    AGENT_STARTED_FIELD_NUMBER: _ClassVar[int]
    AGENT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AGENT_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    AGENT_FAILED_FIELD_NUMBER: _ClassVar[int]
    STATE_FILE_CREATED_FIELD_NUMBER: _ClassVar[int]
    RAW_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    EXITED_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    output: OutputLine
    phase_started: PhaseStarted
    phase_completed: PhaseCompleted
    phase_failed: PhaseFailed
    task_started: TaskStarted
    task_progress: TaskProgress
    task_completed: TaskCompleted
    task_failed: TaskFailed
    agent_started: AgentStarted
    agent_message: AgentMessage
    agent_completed: AgentCompleted
    agent_failed: AgentFailed
    state_file_created: StateFileCreated
    raw_output: RawOutput
    queued: Queued
    started: Started
    exited: Exited
    cancel_requested: CancelRequested
    killed: Killed
    timed_out: TimedOut
    interrupted: Interrupted
    finished: Finished
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., output: _Optional[_Union[OutputLine, _Mapping]] = ..., phase_started: _Optional[_Union[PhaseStarted, _Mapping]] = ..., phase_completed: _Optional[_Union[PhaseCompleted, _Mapping]] = ..., phase_failed: _Optional[_Union[PhaseFailed, _Mapping]] = ..., task_started: _Optional[_Union[TaskStarted, _Mapping]] = ..., task_progress: _Optional[_Union[TaskProgress, _Mapping]] = ..., task_completed: _Optional[_Union[TaskCompleted, _Mapping]] = ..., task_failed: _Optional[_Union[TaskFailed, _Mapping]] = ..., agent_started: _Optional[_Union[AgentStarted, _Mapping]] = ..., agent_message: _Optional[_Union[AgentMessage, _Mapping]] = ..., agent_completed: _Optional[_Union[AgentCompleted, _Mapping]] = ..., agent_failed: _Optional[_Union[AgentFailed, _Mapping]] = ..., state_file_created: _Optional[_Union[StateFileCreated, _Mapping]] = ..., raw_output: _Optional[_Union[RawOutput, _Mapping]] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., started: _Optional[_Union[Started, _Mapping]] = ..., exited: _Optional[_Union[Exited, _Mapping]] = ..., cancel_requested: _Optional[_Union[CancelRequested, _Mapping]] = ..., killed: _Optional[_Union[Killed, _Mapping]] = ..., timed_out: _Optional[_Union[TimedOut, _Mapping]] = ..., interrupted: _Optional[_Union[Interrupted, _Mapping]] = ..., finished: _Optional[_Union[Finished, _Mapping]] = ...) -> None: ...

class OutputLine(_message.Message):
    __slots__ = ("stream", "text", "malformed_event", "truncated")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_EVENT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    stream: OutputStream
    text: str
    malformed_event: bool
    truncated: bool
    def __init__(self, stream: _Optional[_Union[OutputStream, str]] = ..., text: _Optional[str] = ..., malformed_event: _Optional[bool] = ..., truncated: _Optional[bool] = ...) -> None: ...

class PhaseStarted(_message.Message):
    __slots__ = ("phase", "name", "total_phases")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PHASES_FIELD_NUMBER: _ClassVar[int]
    phase: int
    name: str
    total_phases: int
    def __init__(self, phase: _Optional[int] = ..., name: _Optional[str] = ..., total_phases: _Optional[int] = ...) -> None: ...

class PhaseCompleted(_message.Message):
    __slots__ = ("phase", "name")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    phase: int
    name: str
    def __init__(self, phase: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class PhaseFailed(_message.Message):
    __slots__ = ("phase", "name", "error")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    phase: int
    name: str
    error: str
    def __init__(self, phase: _Optional[int] = ..., name: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class TaskStarted(_message.Message):
    __slots__ = ("phase", "task_id", "description", "total_tasks")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TASKS_FIELD_NUMBER: _ClassVar[int]
    phase: int
    task_id: str
    description: str
    total_tasks: int
    def __init__(self, phase: _Optional[int] = ..., task_id: _Optional[str] = ..., description: _Optional[str] = ..., total_tasks: _Optional[int] = ...) -> None: ...

class TaskProgress(_message.Message):
    __slots__ = ("task_id", "message")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    message: str
    def __init__(self, task_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class TaskCompleted(_message.Message):
    __slots__ = ("task_id", "result")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    result: str
    def __init__(self, task_id: _Optional[str] = ..., result: _Optional[str] = ...) -> None: ...

class TaskFailed(_message.Message):
    __slots__ = ("task_id", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    error: str
    def __init__(self, task_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class AgentStarted(_message.Message):
    __slots__ = ("task_id", "agent_name", "description")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    agent_name: str
    description: str
    def __init__(self, task_id: _Optional[str] = ..., agent_name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class AgentMessage(_message.Message):
    __slots__ = ("task_id", "agent_name", "message")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    agent_name: str
    message: str
    def __init__(self, task_id: _Optional[str] = ..., agent_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class AgentCompleted(_message.Message):
    __slots__ = ("task_id", "agent_name", "result")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    agent_name: str
    result: str
    def __init__(self, task_id: _Optional[str] = ..., agent_name: _Optional[str] = ..., result: _Optional[str] = ...) -> None: ...

class AgentFailed(_message.Message):
    __slots__ = ("task_id", "agent_name", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    agent_name: str
    error: str
    def __init__(self, task_id: _Optional[str] = ..., agent_name: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class StateFileCreated(_message.Message):
    __slots__ = ("phase", "file_path", "description")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    phase: int
    file_path: str
    description: str
    def __init__(self, phase: _Optional[int] = ..., file_path: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class RawOutput(_message.Message):
    __slots__ = ("stream", "line")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    stream: str
    line: str
    def __init__(self, stream: _Optional[str] = ..., line: _Optional[str] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("queue_position",)
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    queue_position: int
    def __init__(self, queue_position: _Optional[int] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ("pid", "argv")
    PID_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    pid: int
    argv: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pid: _Optional[int] = ..., argv: _Optional[_Iterable[str]] = ...) -> None: ...

class Exited(_message.Message):
    __slots__ = ("exit_code", "signal")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    signal: int
    def __init__(self, exit_code: _Optional[int] = ..., signal: _Optional[int] = ...) -> None: ...

class CancelRequested(_message.Message):
    __slots__ = ("grace_period", "force", "reason")
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    grace_period: _duration_pb2.Duration
    force: bool
    reason: str
    def __init__(self, grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., force: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Killed(_message.Message):
    __slots__ = ("signal",)
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    signal: int
    def __init__(self, signal: _Optional[int] = ...) -> None: ...

class TimedOut(_message.Message):
    __slots__ = ("timeout",)
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    timeout: _duration_pb2.Duration
    def __init__(self, timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Interrupted(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Finished(_message.Message):
    __slots__ = ("state", "error")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    state: ExecutionState
    error: str
    def __init__(self, state: _Optional[_Union[ExecutionState, str]] = ..., error: _Optional[str] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("execution_id", "grace_period", "force", "request_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    grace_period: _duration_pb2.Duration
    force: bool
    request_id: str
    def __init__(self, execution_id: _Optional[str] = ..., grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., force: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("execution", "already_requested", "retry_called_off")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    ALREADY_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    RETRY_CALLED_OFF_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    already_requested: bool
    retry_called_off: bool
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ..., already_requested: _Optional[bool] = ..., retry_called_off: _Optional[bool] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("namespace",)
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class WorkflowDirectory(_message.Message):
    __slots__ = ("path", "workflows", "discovery_errors", "exists")
    PATH_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_ERRORS_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    path: str
    workflows: int
    discovery_errors: int
    exists: bool
    def __init__(self, path: _Optional[str] = ..., workflows: _Optional[int] = ..., discovery_errors: _Optional[int] = ..., exists: _Optional[bool] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("version", "start_time", "uptime_seconds", "max_workers", "running", "queued", "max_queue", "succeeded_today", "failed_today", "total_executions", "totals_by_state", "workflow_directories", "workflows_discovered", "discovery_errors", "database_path", "drop_folders", "output_dir", "history_retention", "history_write_failure", "programs_probing", "active_batches", "program_limits_enforcement", "daemons")
    class TotalsByStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_WORKERS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_TODAY_FIELD_NUMBER: _ClassVar[int]
    FAILED_TODAY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_BY_STATE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWS_DISCOVERED_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_ERRORS_FIELD_NUMBER: _ClassVar[int]
    DATABASE_PATH_FIELD_NUMBER: _ClassVar[int]
    DROP_FOLDERS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_RETENTION_FIELD_NUMBER: _ClassVar[int]
    HISTORY_WRITE_FAILURE_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_PROBING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_BATCHES_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_LIMITS_ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    DAEMONS_FIELD_NUMBER: _ClassVar[int]
    version: str
    start_time: _timestamp_pb2.Timestamp
    uptime_seconds: int
    max_workers: int
    running: int
    queued: int
    max_queue: int
    succeeded_today: int
    failed_today: int
    total_executions: int
    totals_by_state: _containers.ScalarMap[str, int]
    workflow_directories: _containers.RepeatedCompositeFieldContainer[WorkflowDirectory]
    workflows_discovered: int
    discovery_errors: int
    database_path: str
    drop_folders: _containers.RepeatedCompositeFieldContainer[DropFolder]
    output_dir: str
    history_retention: _duration_pb2.Duration
    history_write_failure: HistoryWriteFailure
    programs_probing: int
    active_batches: _containers.RepeatedCompositeFieldContainer[BatchSummary]
    program_limits_enforcement: str
    daemons: _containers.RepeatedCompositeFieldContainer[DaemonStatus]
    def __init__(self, version: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uptime_seconds: _Optional[int] = ..., max_workers: _Optional[int] = ..., running: _Optional[int] = ..., queued: _Optional[int] = ..., max_queue: _Optional[int] = ..., succeeded_today: _Optional[int] = ..., failed_today: _Optional[int] = ..., total_executions: _Optional[int] = ..., totals_by_state: _Optional[_Mapping[str, int]] = ..., workflow_directories: _Optional[_Iterable[_Union[WorkflowDirectory, _Mapping]]] = ..., workflows_discovered: _Optional[int] = ..., discovery_errors: _Optional[int] = ..., database_path: _Optional[str] = ..., drop_folders: _Optional[_Iterable[_Union[DropFolder, _Mapping]]] = ..., output_dir: _Optional[str] = ..., history_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., history_write_failure: _Optional[_Union[HistoryWriteFailure, _Mapping]] = ..., programs_probing: _Optional[int] = ..., active_batches: _Optional[_Iterable[_Union[BatchSummary, _Mapping]]] = ..., program_limits_enforcement: _Optional[str] = ..., daemons: _Optional[_Iterable[_Union[DaemonStatus, _Mapping]]] = ...) -> None: ...

class DaemonStatus(_message.Message):
    __slots__ = ("id", "host", "pid", "role", "slots", "running", "start_time", "last_heartbeat", "alive", "draining")
    ID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    id: str
    host: str
    pid: int
    role: DaemonRole
    slots: int
    running: int
    start_time: _timestamp_pb2.Timestamp
    last_heartbeat: _timestamp_pb2.Timestamp
    alive: bool
    draining: bool
    def __init__(self, id: _Optional[str] = ..., host: _Optional[str] = ..., pid: _Optional[int] = ..., role: _Optional[_Union[DaemonRole, str]] = ..., slots: _Optional[int] = ..., running: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alive: _Optional[bool] = ..., draining: _Optional[bool] = ...) -> None: ...

class DrainDaemonRequest(_message.Message):
    __slots__ = ("daemon_id",)
    DAEMON_ID_FIELD_NUMBER: _ClassVar[int]
    daemon_id: str
    def __init__(self, daemon_id: _Optional[str] = ...) -> None: ...

class DrainDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: DaemonStatus
    def __init__(self, daemon: _Optional[_Union[DaemonStatus, _Mapping]] = ...) -> None: ...

class HistoryWriteFailure(_message.Message):
    __slots__ = ("error", "since")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    error: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, error: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DropFolder(_message.Message):
    __slots__ = ("path", "mode", "files_waiting", "files_processing", "processed_today", "failed_today", "watching")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILES_WAITING_FIELD_NUMBER: _ClassVar[int]
    FILES_PROCESSING_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_TODAY_FIELD_NUMBER: _ClassVar[int]
    FAILED_TODAY_FIELD_NUMBER: _ClassVar[int]
    WATCHING_FIELD_NUMBER: _ClassVar[int]
    path: str
    mode: DropFolderMode
    files_waiting: int
    files_processing: int
    processed_today: int
    failed_today: int
    watching: bool
    def __init__(self, path: _Optional[str] = ..., mode: _Optional[_Union[DropFolderMode, str]] = ..., files_waiting: _Optional[int] = ..., files_processing: _Optional[int] = ..., processed_today: _Optional[int] = ..., failed_today: _Optional[int] = ..., watching: _Optional[bool] = ...) -> None: ...

class ManifestProblem(_message.Message):
    __slots__ = ("path", "message")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    path: str
    message: str
    def __init__(self, path: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ManifestVm(_message.Message):
    __slots__ = ("name", "pipeline_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    pipeline_json: str
    def __init__(self, name: _Optional[str] = ..., pipeline_json: _Optional[str] = ...) -> None: ...

class ValidateManifestRequest(_message.Message):
    __slots__ = ("content", "format", "file_name")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: ManifestFormat
    file_name: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[ManifestFormat, str]] = ..., file_name: _Optional[str] = ...) -> None: ...

class ValidateManifestResponse(_message.Message):
    __slots__ = ("valid", "problems", "format", "kind", "vms")
    VALID_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VMS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    problems: _containers.RepeatedCompositeFieldContainer[ManifestProblem]
    format: ManifestFormat
    kind: ManifestKind
    vms: _containers.RepeatedCompositeFieldContainer[ManifestVm]
    def __init__(self, valid: _Optional[bool] = ..., problems: _Optional[_Iterable[_Union[ManifestProblem, _Mapping]]] = ..., format: _Optional[_Union[ManifestFormat, str]] = ..., kind: _Optional[_Union[ManifestKind, str]] = ..., vms: _Optional[_Iterable[_Union[ManifestVm, _Mapping]]] = ...) -> None: ...

class SubmitManifestRequest(_message.Message):
    __slots__ = ("content", "format", "file_name", "request_id", "labels", "namespace")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: ManifestFormat
    file_name: str
    request_id: str
    labels: _containers.ScalarMap[str, str]
    namespace: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[ManifestFormat, str]] = ..., file_name: _Optional[str] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., namespace: _Optional[str] = ...) -> None: ...

class SubmittedVm(_message.Message):
    __slots__ = ("name", "manifest_path", "execution")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_PATH_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    manifest_path: str
    execution: Execution
    def __init__(self, name: _Optional[str] = ..., manifest_path: _Optional[str] = ..., execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class SubmitManifestResponse(_message.Message):
    __slots__ = ("batch_id", "vms", "started", "kind")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    VMS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    vms: _containers.RepeatedCompositeFieldContainer[SubmittedVm]
    started: bool
    kind: ManifestKind
    def __init__(self, batch_id: _Optional[str] = ..., vms: _Optional[_Iterable[_Union[SubmittedVm, _Mapping]]] = ..., started: _Optional[bool] = ..., kind: _Optional[_Union[ManifestKind, str]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("id", "spec", "action", "overlap_policy", "catch_up_policy", "catch_up_window", "paused", "note", "description", "create_time", "update_time", "next_fire_times", "recent_runs", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_POLICY_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_POLICY_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_WINDOW_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIMES_FIELD_NUMBER: _ClassVar[int]
    RECENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    spec: ScheduleSpec
    action: ScheduleAction
    overlap_policy: ScheduleOverlapPolicy
    catch_up_policy: ScheduleCatchUpPolicy
    catch_up_window: _duration_pb2.Duration
    paused: bool
    note: str
    description: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    next_fire_times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    recent_runs: _containers.RepeatedCompositeFieldContainer[ScheduleRun]
    namespace: str
    def __init__(self, id: _Optional[str] = ..., spec: _Optional[_Union[ScheduleSpec, _Mapping]] = ..., action: _Optional[_Union[ScheduleAction, _Mapping]] = ..., overlap_policy: _Optional[_Union[ScheduleOverlapPolicy, str]] = ..., catch_up_policy: _Optional[_Union[ScheduleCatchUpPolicy, str]] = ..., catch_up_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., paused: _Optional[bool] = ..., note: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_fire_times: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., recent_runs: _Optional[_Iterable[_Union[ScheduleRun, _Mapping]]] = ..., namespace: _Optional[str] = ...) -> None: ...

class ScheduleSpec(_message.Message):
    __slots__ = ("cron", "time_zone", "jitter", "start_time", "end_time")
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    cron: _containers.RepeatedScalarFieldContainer[str]
    time_zone: str
    jitter: _duration_pb2.Duration
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, cron: _Optional[_Iterable[str]] = ..., time_zone: _Optional[str] = ..., jitter: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleAction(_message.Message):
    __slots__ = ("execute", "manifest")
    EXECUTE_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    execute: ScheduleExecute
    manifest: ScheduleManifest
    def __init__(self, execute: _Optional[_Union[ScheduleExecute, _Mapping]] = ..., manifest: _Optional[_Union[ScheduleManifest, _Mapping]] = ...) -> None: ...

class ScheduleExecute(_message.Message):
    __slots__ = ("workflow_id", "inputs", "timeout", "labels", "retry_policy")
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    inputs: _containers.MessageMap[str, _struct_pb2.Value]
    timeout: _duration_pb2.Duration
    labels: _containers.ScalarMap[str, str]
    retry_policy: RetryPolicy
    def __init__(self, workflow_id: _Optional[str] = ..., inputs: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ...) -> None: ...

class ScheduleManifest(_message.Message):
    __slots__ = ("content", "template_path", "format", "output_dir", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    template_path: str
    format: ManifestFormat
    output_dir: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, content: _Optional[bytes] = ..., template_path: _Optional[str] = ..., format: _Optional[_Union[ManifestFormat, str]] = ..., output_dir: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ScheduleRun(_message.Message):
    __slots__ = ("scheduled_time", "action_time", "outcome", "execution_ids", "batch_id", "error", "triggered")
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_IDS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_FIELD_NUMBER: _ClassVar[int]
    scheduled_time: _timestamp_pb2.Timestamp
    action_time: _timestamp_pb2.Timestamp
    outcome: ScheduleRunOutcome
    execution_ids: _containers.RepeatedScalarFieldContainer[str]
    batch_id: str
    error: str
    triggered: bool
    def __init__(self, scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., action_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[ScheduleRunOutcome, str]] = ..., execution_ids: _Optional[_Iterable[str]] = ..., batch_id: _Optional[str] = ..., error: _Optional[str] = ..., triggered: _Optional[bool] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class CreateScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "next_fire_times", "recent_runs")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIRE_TIMES_FIELD_NUMBER: _ClassVar[int]
    RECENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    next_fire_times: int
    recent_runs: int
    def __init__(self, schedule_id: _Optional[str] = ..., next_fire_times: _Optional[int] = ..., recent_runs: _Optional[int] = ...) -> None: ...

class GetScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules", "next_page_token")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    next_page_token: str
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "schedule")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    schedule: Schedule
    def __init__(self, schedule_id: _Optional[str] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class UpdateScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class DeleteScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "paused", "note")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    paused: bool
    note: str
    def __init__(self, schedule_id: _Optional[str] = ..., paused: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class PauseScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class TriggerScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "request_id")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    request_id: str
    def __init__(self, schedule_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TriggerScheduleResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: ScheduleRun
    def __init__(self, run: _Optional[_Union[ScheduleRun, _Mapping]] = ...) -> None: ...

class Webhook(_message.Message):
    __slots__ = ("id", "url", "secret", "events", "workflow_ids", "description", "create_time", "problem")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_IDS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    secret: str
    events: _containers.RepeatedScalarFieldContainer[WebhookEvent]
    workflow_ids: _containers.RepeatedScalarFieldContainer[str]
    description: str
    create_time: _timestamp_pb2.Timestamp
    problem: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., secret: _Optional[str] = ..., events: _Optional[_Iterable[_Union[WebhookEvent, str]]] = ..., workflow_ids: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., problem: _Optional[str] = ...) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("id", "type", "subject", "state", "attempts", "last_status_code", "last_error", "create_time", "last_attempt_time", "next_attempt_time", "payload")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    subject: str
    state: WebhookDeliveryState
    attempts: int
    last_status_code: int
    last_error: str
    create_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    next_attempt_time: _timestamp_pb2.Timestamp
    payload: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., subject: _Optional[str] = ..., state: _Optional[_Union[WebhookDeliveryState, str]] = ..., attempts: _Optional[int] = ..., last_status_code: _Optional[int] = ..., last_error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payload: _Optional[str] = ...) -> None: ...

class CreateWebhookRequest(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ...) -> None: ...

class CreateWebhookResponse(_message.Message):
    __slots__ = ("webhook", "secret")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    secret: str
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhooksResponse(_message.Message):
    __slots__ = ("webhooks",)
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[Webhook]
    def __init__(self, webhooks: _Optional[_Iterable[_Union[Webhook, _Mapping]]] = ...) -> None: ...

class DeleteWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class DeleteWebhookResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWebhookDeliveriesRequest(_message.Message):
    __slots__ = ("webhook_id", "page_size", "page_token")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    page_size: int
    page_token: str
    def __init__(self, webhook_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWebhookDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "next_page_token")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[WebhookDelivery]
    next_page_token: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[WebhookDelivery, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TestWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class TestWebhookResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: WebhookDelivery
    def __init__(self, delivery: _Optional[_Union[WebhookDelivery, _Mapping]] = ...) -> None: ...

class ApiToken(_message.Message):
    __slots__ = ("id", "name", "role", "create_time", "expire_time", "revoke_time", "namespaces")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    role: Role
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("name", "role", "expires_in", "namespaces")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: Role
    expires_in: _duration_pb2.Duration
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., expires_in: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("token", "secret")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    token: ApiToken
    secret: str
    def __init__(self, token: _Optional[_Union[ApiToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[ApiToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[ApiToken, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("token_id",)
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    def __init__(self, token_id: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: ApiToken
    def __init__(self, token: _Optional[_Union[ApiToken, _Mapping]] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("sequence", "time", "principal", "role", "method", "object", "peer", "code", "message")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    principal: str
    role: Role
    method: str
    object: str
    peer: str
    code: str
    message: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., principal: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., method: _Optional[str] = ..., object: _Optional[str] = ..., peer: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
