// The dashboard: sign in, then jobs, submit, pools, metrics, and (with the admin token) users and keys.
import { render } from "preact";
import "./style.css";
import { Link, match, navigate, route } from "./router";
import { role, session, signOut } from "./session";
import { AdminView } from "./views/admin";
import { JobView } from "./views/job";
import { JobsView } from "./views/jobs";
import { MetricsView } from "./views/metrics";
import { OverviewView } from "./views/overview";
import { PoolsView } from "./views/pools";
import { SignInView } from "./views/sign-in";
import { SubmitView } from "./views/submit";

function Page() {
  const path = route.value.split("?")[0] ?? "/";
  if (role.value === "admin") return <AdminView />;
  const job = match("/jobs/:id", path);
  // Keyed by the id: following a link to another job (a dependency, a dependent) opens a fresh page,
  // not this one's editor, errors and loaded result.
  if (job?.id) return <JobView key={job.id} id={job.id} />;
  if (path === "/submit") return <SubmitView />;
  if (path === "/pools") return <PoolsView />;
  if (path === "/metrics") return <MetricsView />;
  if (path === "/" || path === "/overview") return <OverviewView />;
  return <JobsView />;
}

const NAV = [
  ["/overview", "Overview"],
  ["/jobs", "Jobs"],
  ["/submit", "Submit"],
  ["/pools", "Pools"],
  ["/metrics", "Metrics"],
] as const;

function Nav() {
  const first = route.value.split(/[?/]/)[1] ?? "";
  const section = first === "" ? "/overview" : `/${first}`;
  return (
    <header>
      <strong>edge-scheduler</strong>
      <nav>
        {role.value === "user" ? (
          NAV.map(([to, label]) => (
            <Link key={to} to={to} current={section === to}>
              {label}
            </Link>
          ))
        ) : (
          <Link to="/admin">Users</Link>
        )}
      </nav>
      <span class="who">{role.value === "admin" ? "admin" : "API key"}</span>
      <button
        type="button"
        onClick={() => {
          signOut();
          navigate("/", true);
        }}
      >
        Sign out
      </button>
    </header>
  );
}

function App() {
  if (!session.value) return <SignInView />;
  return (
    <>
      <Nav />
      <main>
        <Page />
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
