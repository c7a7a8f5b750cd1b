%% SPDX-License-Identifier: MIT
%% erl_bench — meshrt-bench's actor workloads written with Erlang processes
%% (Erlang/OTP 25, Debian's erlang-base), so meshrt can be compared with the
%% BEAM's schedulers on the same machine in the same run (tools/peers/run.sh).
%%
%% An "actor" here is a process and a ref is its pid; a process handles one
%% message at a time from its mailbox. Workloads are kept step for step with
%% tools/bench/bench_messaging.c and bench_spawn.c:
%%
%%   pingpong    2 processes, one message in flight; ns per round trip
%%   counting    producer -> counter, chunks of 1000 each followed by a credit
%%               marker, 2 chunks in flight; ns per message
%%   threadring  100 processes pass one token that counts down; ns per hop
%%   fjcreate    a forker process spawns workers from inside its loop and
%%               sends each one message; each reports back and exits; ns per
%%               worker, until the process count is back where it was
%%   ask         request with a unique ref and a 5 s timer armed per request
%%               (erlang:start_timer, cancelled on the reply), as every meshrt
%%               ask carries a deadline; ns per round trip
%%
%% Two kinds of VM. The driver (main/0, started by the build-release/peers/
%% erl_bench wrapper that run.sh writes) reads the options and, for each run,
%% starts a fresh measured VM with --threads schedulers:
%%
%%   erl +S T:T +sbwt medium -noinput -pa DIR -run erl_bench child B OPS 1 T
%%
%% which runs the workload, prints its result lines and halts. VM start-up and
%% halt are not timed. With --one-vm one measured VM does all of a benchmark's
%% runs instead (a garbage collection of the host process between runs), as
%% go_bench does. The median ns/op is reported with the min and max.
%%
%% Method (as meshrt-bench): the actors are spawned and answer a "ready"
%% request before the clock starts; the host process stamps the start time
%% and sends the first message; the process that sees the last operation
%% stamps the end time and tells the host. Times are erlang:monotonic_time
%% (CLOCK_MONOTONIC on Linux).
%%
%% Threads: everything is Erlang processes. In a measured VM the host is a
%% process that child/1 spawns and that waits until the VM has booted; it
%% links the actors it spawns and traps exits, so a crashed actor stops the
%% run with a message instead of hanging it. The fjcreate workers are not
%% linked (a link would add work the other peers do not do). Any failure
%% prints "erl_bench: ..." on stderr and halts with status 1.
-module(erl_bench).

-export([main/0, child/1]).

-define(RING_SIZE, 100).
-define(COUNT_CHUNK, 1000).
-define(CHUNKS_IN_FLIGHT, 2).
-define(ASK_TIMEOUT_MS, 5000).
%% A run that has not finished after this long is stuck (caf_bench's latch
%% waits as long).
-define(RUN_LIMIT_MS, 120000).
-define(RESULT, "erl_bench-result").

benches() ->
    [{pingpong, 1000000},
     {counting, 1000000},
     {threadring, 1000000},
     {fjcreate, 40000},
     {ask, 1000000}].

now_ns() -> erlang:monotonic_time(nanosecond).

fail(Fmt, Args) ->
    io:format(standard_error, "erl_bench: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).

%% ==== the measured VM =======================================================

%% -run erl_bench child BENCH OPS RUNS THREADS (strings from the driver).
%% -run calls this from init's boot process; the host is a process of its own,
%% so boot can finish before the first run. A crash would leave the VM
%% running, so the host halts on any error.
child(Args) ->
    spawn(fun() ->
                  try
                      wait_booted(),
                      child_runs(Args)
                  catch
                      Class:Reason:Stack -> fail("~p:~p in ~p", [Class, Reason, Stack])
                  end
          end),
    ok.

wait_booted() ->
    case init:get_status() of
        {started, _} -> ok;
        _ -> timer:sleep(10), wait_booted()
    end.

child_runs([BenchS, OpsS, RunsS, ThreadsS]) ->
    Bench = list_to_existing_atom(BenchS),
    Ops = list_to_integer(OpsS),
    Runs = list_to_integer(RunsS),
    Threads = list_to_integer(ThreadsS),
    case erlang:system_info(schedulers_online) of
        Threads -> ok;
        Other -> fail("asked for ~b schedulers, the VM runs ~b", [Threads, Other])
    end,
    process_flag(trap_exit, true),
    Ns = [one_run(Bench, Ops) || _ <- lists:seq(1, Runs)],
    %% Printed after the last run, so the driver does nothing while we measure.
    [io:format("~s ns ~b~n", [?RESULT, N]) || N <- Ns],
    io:format("~s rss_kb ~b~n", [?RESULT, peak_rss_kb()]),
    erlang:halt(0).

one_run(Bench, Ops) ->
    erlang:garbage_collect(),
    {Elapsed, Actors} = run(Bench, Ops),
    %% Teardown, untimed: unlink first so no 'EXIT' is queued, then drop
    %% anything left in the host's mailbox.
    [begin unlink(P), exit(P, kill) end || P <- Actors],
    flush(),
    Elapsed.

run(pingpong, Ops) -> pingpong(Ops);
run(counting, Ops) -> counting(Ops);
run(threadring, Ops) -> threadring(Ops);
run(fjcreate, Ops) -> fjcreate(Ops);
run(ask, Ops) -> ask(Ops).

flush() ->
    receive _ -> flush() after 0 -> ok end.

%% spawn_actor(Body): a linked process that first answers the host's ready
%% request, which hands it its argument, then runs Body(Arg).
spawn_actor(Body) ->
    spawn_actor(Body, []).

spawn_actor(Body, Opts) ->
    spawn_opt(fun() ->
                      receive
                          {ready, From, Ref, Arg} ->
                              From ! {Ref, ready},
                              Body(Arg)
                      end
              end,
              [link | Opts]).

ready(Pid, Arg) ->
    Ref = make_ref(),
    Pid ! {ready, self(), Ref, Arg},
    receive
        {Ref, ready} -> ok;
        {'EXIT', P, Why} -> fail("actor ~p exited before it was ready: ~p", [P, Why])
    after ?RUN_LIMIT_MS -> fail("an actor did not answer the ready request", [])
    end.

%% The end stamp and a result, from the process that saw the last operation.
wait_done() ->
    receive
        {done, T1, Result} -> {T1, Result};
        {'EXIT', P, Why} -> fail("actor ~p exited during the run: ~p", [P, Why])
    after ?RUN_LIMIT_MS -> fail("the run did not finish within ~b s", [?RUN_LIMIT_MS div 1000])
    end.

%% Where an actor waits once its part is done, until the host kills it.
idle() ->
    receive after infinity -> ok end.

%% ---- pingpong ----------------------------------------------------------------

pingpong(Ops) ->
    Host = self(),
    Ponger = spawn_actor(fun(none) -> ponger() end),
    Pinger = spawn_actor(fun(P) -> pinger(Host, P, Ops) end),
    ready(Ponger, none),
    ready(Pinger, Ponger),
    T0 = now_ns(),
    Ponger ! {ping, Pinger}, % the host sends the first ping on the pinger's behalf
    {T1, _} = wait_done(),
    {T1 - T0, [Pinger, Ponger]}.

ponger() ->
    receive
        {ping, From} ->
            From ! pong,
            ponger()
    end.

pinger(Host, Ponger, Left) ->
    receive
        pong when Left =:= 1 ->
            Host ! {done, now_ns(), ok},
            idle();
        pong ->
            Ponger ! {ping, self()},
            pinger(Host, Ponger, Left - 1)
    end.

%% ---- counting ----------------------------------------------------------------

counting(Ops) ->
    Host = self(),
    Counter = spawn_actor(fun(none) -> counter(Host, 0) end),
    Producer = spawn_actor(fun(C) -> producer(C, Ops, 0) end),
    ready(Counter, none),
    ready(Producer, Counter),
    T0 = now_ns(),
    [Producer ! more || _ <- lists:seq(1, ?CHUNKS_IN_FLIGHT)],
    {T1, Counted} = wait_done(),
    Counted =:= Ops orelse fail("counting: the counter saw ~b of ~b messages", [Counted, Ops]),
    {T1 - T0, [Producer, Counter]}.

counter(Host, N) ->
    receive
        inc ->
            counter(Host, N + 1);
        {credit, From} ->
            From ! more,
            counter(Host, N);
        finish ->
            Host ! {done, now_ns(), N},
            idle()
    end.

producer(Counter, Total, Sent) ->
    receive
        more when Sent >= Total ->
            producer(Counter, Total, Sent); % a credit for a chunk never needed
        more ->
            N = min(?COUNT_CHUNK, Total - Sent),
            send_incs(Counter, N),
            case Sent + N of
                Total -> Counter ! finish;
                _ -> Counter ! {credit, self()}
            end,
            producer(Counter, Total, Sent + N)
    end.

send_incs(_, 0) ->
    ok;
send_incs(Counter, N) ->
    Counter ! inc,
    send_incs(Counter, N - 1).

%% ---- threadring --------------------------------------------------------------

threadring(Ops) ->
    Host = self(),
    Ring = [spawn_actor(fun(Next) -> ring_node(Host, Next) end) || _ <- lists:seq(1, ?RING_SIZE)],
    Nexts = tl(Ring) ++ [hd(Ring)],
    lists:foreach(fun({P, Next}) -> ready(P, Next) end, lists:zip(Ring, Nexts)),
    T0 = now_ns(),
    hd(Ring) ! Ops,
    {T1, _} = wait_done(),
    {T1 - T0, Ring}.

ring_node(Host, Next) ->
    receive
        0 ->
            Host ! {done, now_ns(), ok},
            ring_node(Host, Next);
        Left when is_integer(Left) ->
            Next ! Left - 1,
            ring_node(Host, Next)
    end.

%% ---- fjcreate ----------------------------------------------------------------

%% The forker keeps its mailbox off its heap. The workers' reports pile up in
%% it while it is still spawning (tens of thousands at the default ops), and
%% with the default (on_heap) every garbage collection of the forker, which
%% allocates a message per worker, walks that whole queue: the cost per
%% worker then grows with the number of workers. off_heap is what the OTP
%% documentation advises for a process that receives many messages, and
%% meshrt's mailboxes are not scanned by anything either.
fjcreate(Ops) ->
    Host = self(),
    Forker = spawn_actor(fun(none) -> forker(Host, Ops) end, [{message_queue_data, off_heap}]),
    ready(Forker, none),
    Before = erlang:system_info(process_count),
    T0 = now_ns(),
    Forker ! go,
    {T1, _} = wait_done(),
    %% Every worker has reported; some may still be on their way out, and they
    %% are not gone until the process count drops back.
    T2 = case erlang:system_info(process_count) > Before of
             true -> wait_gone(Before);
             false -> T1
         end,
    {T2 - T0, [Forker]}.

wait_gone(Before) ->
    case erlang:system_info(process_count) > Before of
        true ->
            erlang:yield(),
            wait_gone(Before);
        false ->
            now_ns()
    end.

forker(Host, Ops) ->
    receive
        go ->
            fork(Ops),
            collect(Ops),
            Host ! {done, now_ns(), ok},
            idle()
    end.

fork(0) ->
    ok;
fork(N) ->
    Worker = spawn(fun worker/0),
    Worker ! {work, self()},
    fork(N - 1).

worker() ->
    receive
        {work, Forker} -> Forker ! done
    end.

collect(0) ->
    ok;
collect(N) ->
    receive
        done -> collect(N - 1)
    end.

%% ---- ask ---------------------------------------------------------------------

ask(Ops) ->
    Host = self(),
    Server = spawn_actor(fun(none) -> server() end),
    Asker = spawn_actor(fun(S) -> receive go -> asker(Host, S, 0, Ops) end end),
    ready(Server, none),
    ready(Asker, Server),
    T0 = now_ns(),
    Asker ! go,
    {T1, _} = wait_done(),
    {T1 - T0, [Asker, Server]}.

server() ->
    receive
        {ask, From, Ref, V} ->
            From ! {Ref, V + 1},
            server()
    end.

%% Each request is armed with its own 5 s timer before it is sent and the timer
%% is cancelled when the reply arrives, as meshrt arms one per ask and Go one
%% time.Timer per request. (A `receive ... after 5000` would arm a timer only
%% when the asker has to wait, and restart it on every wait.)
asker(Host, _Server, Ops, Ops) ->
    Host ! {done, now_ns(), ok},
    idle();
asker(Host, Server, Seq, Ops) ->
    Ref = make_ref(),
    Timer = erlang:start_timer(?ASK_TIMEOUT_MS, self(), Ref),
    Server ! {ask, self(), Ref, Seq},
    receive
        {Ref, Reply} ->
            ok = erlang:cancel_timer(Timer, [{info, false}]),
            Reply =:= Seq + 1 orelse fail("ask: reply ~p to ~b", [Reply, Seq]),
            asker(Host, Server, Seq + 1, Ops);
        {timeout, Timer, Ref} ->
            fail("ask: no reply to ~b within ~b ms", [Seq, ?ASK_TIMEOUT_MS])
    end.

%% VmHWM of this VM, in kB (0 if /proc does not say).
peak_rss_kb() ->
    case file:read_file("/proc/self/status") of
        {ok, Status} ->
            Lines = binary:split(Status, <<"\n">>, [global]),
            case [Rest || <<"VmHWM:", Rest/binary>> <- Lines] of
                [Rest | _] ->
                    [Kb | _] = string:lexemes(Rest, " \t"),
                    binary_to_integer(Kb);
                [] ->
                    0
            end;
        {error, _} ->
            0
    end.

%% ==== the driver ===============================================================

usage() ->
    "usage: erl_bench [--json] [--bench NAME[,NAME...]] [--runs N] [--ops N]\n"
    "                 [--threads N] [--one-vm] [--list]\n"
    "  --json       one JSON object per benchmark per line\n"
    "  --bench      benchmarks to run (default all; see --list)\n"
    "  --runs N     runs per benchmark, the median is reported (default 5)\n"
    "  --ops N      operations per run instead of each benchmark's default\n"
    "  --threads N  schedulers of the measured VM, erl +S N:N (default 1)\n"
    "  --one-vm     all runs of a benchmark in one measured VM (default: a\n"
    "               fresh VM per run)\n"
    "  --list       list the benchmarks and exit\n".

usage_error(Fmt, Args) ->
    io:format(standard_error, "erl_bench: " ++ Fmt ++ "~n~s", Args ++ [usage()]),
    erlang:halt(2).

main() ->
    Opts = parse(init:get_plain_arguments(),
                 #{json => false, bench => all, runs => 5, ops => 0, threads => 1,
                   one_vm => false, list => false}),
    case Opts of
        #{list := true} ->
            [io:format("~-12s ~9b ops~n", [B, Ops]) || {B, Ops} <- benches()];
        _ ->
            [measure(B, Ops, Opts) || {B, Ops} <- selected(maps:get(bench, Opts))]
    end,
    erlang:halt(0).

parse([], Opts) ->
    Opts;
parse(["--" ++ Opt | Rest], Opts) when Opt =/= "" ->
    case string:split(Opt, "=") of
        [Name, Value] -> option(Name, {value, Value}, Rest, Opts);
        [Name] -> option(Name, none, Rest, Opts)
    end;
parse([Arg | _], _) ->
    usage_error("unexpected argument '~s'", [Arg]).

option("help", none, _, _) ->
    io:format("~s", [usage()]),
    erlang:halt(0);
option("json", none, Rest, Opts) ->
    parse(Rest, Opts#{json => true});
option("list", none, Rest, Opts) ->
    parse(Rest, Opts#{list => true});
option("one-vm", none, Rest, Opts) ->
    parse(Rest, Opts#{one_vm => true});
option(Name, none, [Value | Rest], Opts) ->
    option(Name, {value, Value}, Rest, Opts);
option("bench", {value, V}, Rest, Opts) ->
    parse(Rest, Opts#{bench => string:split(V, ",", all)});
option(Name, {value, V}, Rest, Opts)
  when Name =:= "runs"; Name =:= "ops"; Name =:= "threads" ->
    {Min, Max} = maps:get(Name, #{"runs" => {1, 1000}, "ops" => {1, 1000000000},
                                  "threads" => {1, 256}}),
    N = try list_to_integer(V) catch error:badarg -> Min - 1 end,
    (N >= Min andalso N =< Max) orelse
        usage_error("--~s wants a whole number from ~b to ~b, not '~s'", [Name, Min, Max, V]),
    parse(Rest, Opts#{list_to_atom(Name) => N});
option(Name, _, _, _) ->
    usage_error("unknown option or missing value: --~s", [Name]).

selected(all) ->
    benches();
selected(Names) ->
    [case lists:keyfind(Name, 1, [{atom_to_list(B), Ops} || {B, Ops} <- benches()]) of
         {_, Ops} -> {list_to_atom(Name), Ops};
         false -> usage_error("unknown benchmark '~s' (see --list)", [Name])
     end || Name <- Names].

measure(Bench, DefaultOps, Opts = #{runs := Runs, threads := Threads}) ->
    Ops = case maps:get(ops, Opts) of 0 -> DefaultOps; N -> N end,
    Vms = case Opts of
              #{one_vm := true} -> [vm(Bench, Ops, Runs, Threads)];
              _ -> [vm(Bench, Ops, 1, Threads) || _ <- lists:seq(1, Runs)]
          end,
    PerOp = lists:sort([Ns / Ops || {NsList, _} <- Vms, Ns <- NsList]),
    length(PerOp) =:= Runs orelse
        fail("~s: expected ~b runs, got ~b", [Bench, Runs, length(PerOp)]),
    Med = median(PerOp),
    Rss = lists:max([Kb || {_, Kb} <- Vms]),
    case Opts of
        #{json := true} ->
            io:format("{\"bench\":\"~s\",\"framework\":\"erlang\",\"ops\":~b,"
                      "\"ns_per_op\":~.2f,\"ops_per_sec\":~b,\"runs\":~b,"
                      "\"min_ns_per_op\":~.2f,\"max_ns_per_op\":~.2f,\"threads\":~b,"
                      "\"peak_rss_kb\":~b,\"version\":\"~s\"}~n",
                      [Bench, Ops, Med, round(1.0e9 / Med), Runs, hd(PerOp),
                       lists:last(PerOp), Threads, Rss, version()]);
        _ ->
            io:format("~-12s ~9b ops ~11.2f ns/op (min ~.2f, max ~.2f)~n",
                      [Bench, Ops, Med, hd(PerOp), lists:last(PerOp)])
    end.

median(Sorted) ->
    N = length(Sorted),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, Sorted);
        0 -> (lists:nth(N div 2, Sorted) + lists:nth(N div 2 + 1, Sorted)) / 2
    end.

%% "25.2.3" from the release's OTP_VERSION file (otp_release alone is "25").
version() ->
    Release = erlang:system_info(otp_release),
    File = filename:join([code:root_dir(), "releases", Release, "OTP_VERSION"]),
    Otp = case file:read_file(File) of
              {ok, V} -> string:trim(binary_to_list(V));
              {error, _} -> Release
          end,
    io_lib:format("OTP ~s, erts ~s, ~s",
                  [Otp, erlang:system_info(version), erlang:system_info(emu_flavor)]).

%% One measured VM: returns {[elapsed ns per run], peak RSS in kB}. Lines it
%% prints that are not results (a crash report, say) go to our stderr.
vm(Bench, Ops, Runs, Threads) ->
    Erl = filename:join([code:root_dir(), "bin", "erl"]),
    Dir = filename:absname(filename:dirname(code:which(?MODULE))),
    T = integer_to_list(Threads),
    Args = ["+S", T ++ ":" ++ T, "+sbwt", "medium", "-noinput", "-pa", Dir,
            "-run", "erl_bench", "child", atom_to_list(Bench), integer_to_list(Ops),
            integer_to_list(Runs), T],
    Port = open_port({spawn_executable, Erl},
                     [{args, Args}, {line, 1024}, exit_status, use_stdio]),
    read_vm(Port, Bench, [], [], none).

read_vm(Port, Bench, Partial, Ns, Rss) ->
    receive
        {Port, {data, {noeol, Part}}} ->
            read_vm(Port, Bench, [Partial, Part], Ns, Rss);
        {Port, {data, {eol, Part}}} ->
            case string:lexemes(lists:flatten([Partial, Part]), " ") of
                [?RESULT, "ns", N] -> read_vm(Port, Bench, [], [list_to_integer(N) | Ns], Rss);
                [?RESULT, "rss_kb", Kb] -> read_vm(Port, Bench, [], Ns, list_to_integer(Kb));
                _ ->
                    io:format(standard_error, "~s~n", [[Partial, Part]]),
                    read_vm(Port, Bench, [], Ns, Rss)
            end;
        {Port, {exit_status, 0}} when Rss =/= none ->
            {lists:reverse(Ns), Rss};
        {Port, {exit_status, Status}} ->
            fail("~s: the measured VM exited with status ~b before it reported", [Bench, Status])
    end.
